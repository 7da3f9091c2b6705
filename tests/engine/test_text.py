"""The prompt encoder: our small BERT equals the package's reference, masks, cache, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from engine.models.text import MiniLMEncoder, PromptEncoder, package_model_dir
from engine.request import EngineError

PROMPTS = [
    "a red circle moves left on a blue background",
    "A small green square with thin white stripes, the camera pans right.",
    "",
    "sunset photo; slow zoom in",
]


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder.load(max_length=64)


def test_is_a_frozen_prompt_encoder() -> None:
    # how fast it loads is measured, not asserted: benchmarks/engine_speed.py --e2e
    enc = MiniLMEncoder.load()
    assert isinstance(enc, PromptEncoder) and enc.dim == 384
    assert not enc.bert.training
    assert all(not p.requires_grad for p in enc.bert.parameters())


def test_states_and_mask_shapes(encoder: MiniLMEncoder) -> None:
    states, mask = encoder.encode(PROMPTS)
    assert states.dtype == torch.float32 and mask.dtype == torch.bool
    assert states.shape[:2] == mask.shape and states.shape[0] == 4 and states.shape[2] == 384
    lengths = mask.sum(1).tolist()
    assert lengths[2] == 2  # the empty prompt is [CLS] [SEP]
    assert max(lengths) == states.shape[1] and lengths[1] > lengths[0]
    assert mask[:, 0].all()  # masks are left-aligned: real tokens first
    assert (states[~mask] == 0).all()
    assert (states[mask].abs().sum(-1) > 0).all()


def test_matches_the_reference_implementation(encoder: MiniLMEncoder, monkeypatch) -> None:
    """Against Hugging Face transformers' BertModel on the package's own files (a test-only
    dependency; sentence-transformers' Transformer module is this model plus mean pooling)."""
    # offline like a user's machine: any attempt to reach a hub fails instead of fetching
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer

    d = str(package_model_dir())  # the package's own files: never a hub download
    tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
    ref = AutoModel.from_pretrained(d, local_files_only=True).eval()
    batch = tok(PROMPTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = ref(**batch).last_hidden_state  # (B, L, 384)
    states, mask = encoder.encode(PROMPTS)
    assert mask.sum(1).tolist() == batch["attention_mask"].sum(1).tolist()  # same tokens
    for i in range(len(PROMPTS)):
        n = int(mask[i].sum())
        torch.testing.assert_close(states[i, :n], expected[i, :n], atol=1e-5, rtol=0)
    # sentence embedding: mean over real tokens, L2-normalised (the package's pooling config)
    m = batch["attention_mask"][..., None].float()
    pooled = torch.nn.functional.normalize((expected * m).sum(1) / m.sum(1), dim=-1)
    torch.testing.assert_close(encoder.sentence_embedding(PROMPTS), pooled, atol=1e-5, rtol=0)


def test_padding_does_not_change_real_tokens() -> None:
    enc = MiniLMEncoder.load()
    alone, _ = enc._forward([PROMPTS[0]])
    batched, mask = enc._forward([PROMPTS[0], PROMPTS[1]])  # padded to the longer prompt
    n = alone.shape[1]
    assert batched.shape[1] > n and not mask[0, n:].any()
    torch.testing.assert_close(batched[0, :n], alone[0], atol=1e-5, rtol=1e-5)
    # and the mask matters: without it the pads leak into the real tokens
    ids = torch.tensor([enc.tokenizer.encode_batch([PROMPTS[0], PROMPTS[1]])[0].ids])
    unmasked = enc.bert(ids, torch.ones_like(ids, dtype=torch.bool))
    assert (unmasked[0, :n] - alone[0]).abs().max() > 1e-3


def test_identical_prompts_are_encoded_once_and_cached() -> None:
    enc = MiniLMEncoder.load()
    enc.cache_size = 2
    states, mask = enc.encode([PROMPTS[0]] * 6)
    assert len(enc._cache) == 1
    assert (states == states[0]).all() and mask.all()
    again, _ = enc.encode([PROMPTS[0]])
    torch.testing.assert_close(again[0], states[0])
    enc.encode([PROMPTS[1], PROMPTS[3]])
    assert len(enc._cache) == 2 and PROMPTS[0] not in enc._cache  # least recently used left


def test_long_prompts_are_truncated_to_max_length() -> None:
    enc = MiniLMEncoder.load(max_length=16)
    states, mask = enc.encode(["a very long prompt " * 40, "short"])
    assert states.shape[1] == 16 and mask[0].all() and mask[1].sum() == 3


def test_states_feed_a_trainable_layer(encoder: MiniLMEncoder) -> None:
    states, _ = encoder.encode(PROMPTS[:2])
    assert not states.requires_grad
    proj = torch.nn.Linear(384, 8)
    proj(states).square().mean().backward()  # no inference-mode tensors in the graph
    assert proj.weight.grad is not None


def test_missing_or_corrupt_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="missing.*model.safetensors"):
        MiniLMEncoder.load(model_dir=tmp_path)
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(package_model_dir() / name, tmp_path / name)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(EngineError, match="unreadable"):
        MiniLMEncoder.load(model_dir=tmp_path)


def test_a_pack_of_the_worlds_words_matches_the_full_encoder(
    encoder: MiniLMEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import numpy as np

    from engine.cli import main as engine_main
    from engine.data.world_sample import next_scene, sample_scene
    from engine.data.world_spec import FAMILIES
    from engine.models.text import DIR_VARIABLE

    assert engine_main(["text-pack", "-o", str(tmp_path / "pack")]) == 0
    assert "wrote" in capsys.readouterr().out
    size = sum(f.stat().st_size for f in (tmp_path / "pack").iterdir())
    assert size < 30e6  # the package's files are 88 MB: this one travels with the code
    monkeypatch.setenv(DIR_VARIABLE, str(tmp_path / "pack"))  # how a bare machine names it
    pack = MiniLMEncoder.load(max_length=64)
    assert pack.known is not None
    rng = np.random.default_rng(7)
    captions = []
    for i in range(240):  # every family, training and held-out templates, story continuations
        scene = sample_scene(rng, 64, 48, 5, 8.0, FAMILIES[i % len(FAMILIES)], heldout=i % 3 == 0)
        captions.append(scene.caption)
        if scene.looks:
            after = next_scene(rng, scene, "motion", True, i % 2 == 0, False).caption
            captions.append("Then " + after[0].lower() + after[1:])  # as a continuation reads
    ours, mask = pack.encode(captions + [""])
    full, full_mask = encoder.encode(captions + [""])
    assert torch.equal(mask, full_mask)
    assert (ours - full).norm() / full.norm() < 0.005  # fp16 rows of the same weights
    with pytest.raises(EngineError, match="does not know") as err:
        pack.encode(["a zebra plays the violin"])
    assert "\n" not in str(err.value)


def test_lexical_states_keep_opposite_directions_apart(encoder: MiniLMEncoder) -> None:
    """The last layer keeps "left" and "right" close (why a DiT may read the input embeddings
    too, DiTConfig.lexical_text); the lexical encoder's first half is the plain states. Both
    read the installed package's files: nothing is fetched."""
    plain, lexical = encoder, MiniLMEncoder.load(max_length=64, lexical=True)
    assert (plain.dim, lexical.dim) == (384, 768)
    prompts = ["a red ball moves left", "a red ball moves right"]
    s, m = lexical.encode(prompts)
    p, _ = plain.encode(prompts)
    torch.testing.assert_close(s[..., :384], p)
    assert torch.equal(lexical.sentence_embedding(prompts), plain.sentence_embedding(prompts))
    word = int(m[0].sum()) - 2  # the direction word, before [SEP]
    last = torch.cosine_similarity(s[0, word, :384], s[1, word, :384], dim=0)
    first = torch.cosine_similarity(s[0, word, 384:], s[1, word, 384:], dim=0)
    assert first < last - 0.1  # measured 0.50 against 0.63
