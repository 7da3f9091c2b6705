"""The prompt probe (engine/eval_prompt.py): altered captions, and the probe run end to end."""

from __future__ import annotations

import json
import re

import numpy as np

from engine.cli import main as engine_main
from engine.data.captions import MOVE_WORDS, SPEED_WORDS
from engine.data.synthetic import make_batch
from engine.eval_prompt import (
    ATTRIBUTES,
    ProbeConfig,
    caption_pairs,
    changed,
    format_table,
    per_clip_loss,
    probe,
)


def _specs(family: str, n: int = 8):
    return make_batch(n, 64, 48, 9, 8.0, seed=3, curriculum={family: 1.0}).specs


def test_each_attribute_changes_only_itself():
    for spec in _specs("motion"):
        d = changed(spec, "direction")
        assert {spec.direction, d.direction} in ({"left", "right"}, {"up", "down"})
        assert d.looks == spec.looks and d.background == spec.background
        assert changed(spec, "motion").actions[0] == "still"
        c = changed(spec, "colour")
        assert c.looks[0].colour != spec.looks[0].colour
        assert c.looks[0].shape == spec.looks[0].shape and c.actions == spec.actions
        s = changed(spec, "shape")
        assert s.looks[0].shape != spec.looks[0].shape and s.looks[0].colour == spec.looks[0].colour
    for spec in _specs("still"):
        assert changed(spec, "direction") is None  # nothing moves: no direction to get wrong
    cams = [s for s in _specs("camera", 16) if s.camera != "static"]
    assert cams and all(changed(s, "camera").camera != s.camera for s in cams)


def test_caption_pairs_differ_only_in_the_changed_words():
    specs = _specs("motion")
    pairs = caption_pairs(specs, "direction", seed=0)
    assert len(pairs) == len(specs)
    phrases = sorted((p for ps in MOVE_WORDS.values() for p in ps), key=len, reverse=True)

    def without_move(text: str) -> str:
        for p in phrases:
            text = text.replace(p, "MOVE")
        return text

    for i, true, wrong in pairs:
        assert true != wrong
        assert without_move(true) == without_move(wrong), (true, wrong)
        assert any(p in true for p in MOVE_WORDS[specs[i].direction])
    speed = re.compile(
        r"MOVE(?: (?:" + "|".join(w for ws in SPEED_WORDS.values() for w in ws if w) + "))?"
    )
    for _, true, wrong in caption_pairs(specs, "motion", seed=0):  # the move and its speed go
        assert speed.sub("MOVE", without_move(true)) == wrong.replace("stays still", "MOVE")
        assert not any(p in wrong for p in phrases)
    for _, true, wrong in caption_pairs(specs, "wording", seed=0):
        assert true != wrong  # the control: the same scene, other words


def test_probe_runs_on_a_model_and_reports_every_attribute(tiny_engine):
    r = probe(tiny_engine, ProbeConfig(clips=3, frames=5, levels=(0.5, 0.95)), list(ATTRIBUTES))
    assert list(r) == list(ATTRIBUTES)
    for name, res in r.items():
        if name != "camera":  # a camera clip may hold still: then it has nothing to alter
            assert res["clips"] >= 1, name
        if res["clips"]:
            assert 1e-4 < res["text_distance"] <= 2.0, name  # the two captions differ
        for lv in res["levels"].values():
            assert np.isfinite(lv["gap"]) and lv["gap_stderr"] >= 0
    # MiniLM, a sentence-similarity encoder, keeps opposite directions far closer together
    # than other colours (measured 0.04 against 0.28): the direction is a faint signal to learn
    assert r["direction"]["text_distance"] < 0.5 * r["colour"]["text_distance"]


def test_probe_cli_writes_json_and_refuses_an_unknown_attribute(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "probe.json"
    argv = ["probe", "--model", str(tiny_model_dir), "--device", "cpu", "--clips", "2"]
    assert engine_main([*argv, "--frames", "5", "--attributes", "colour", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["frames"] == 5 and list(data["attributes"]) == ["colour"]
    assert "pref" in capsys.readouterr().out
    assert data["size"] is None
    small = ["--frames", "1", "--attributes", "colour", "--size", "48x32", "--json"]
    assert engine_main([*argv, *small]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == [48, 32]
    assert engine_main([*argv, "--attributes", "colour,smell"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown attributes ['smell']") and "\n" not in err
    assert engine_main([*argv, "--size", "50x32"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --size '50x32'") and "\n" not in err


def test_both_captions_meet_the_same_noise(tiny_engine):
    """The gap is the caption's doing alone: the same caption gives the same loss to the bit,
    another noise seed another loss."""
    import torch

    z = torch.randn(2, 4, 2, 6, 8, generator=torch.Generator().manual_seed(0))
    states, mask = tiny_engine.text.encode(["a red ball moves left", "a blue box rests"])
    dit = tiny_engine.bundle.dit
    first = per_clip_loss(dit, z, states, mask, 0.9, seed=5)
    assert first.shape == (2,)
    assert torch.equal(first, per_clip_loss(dit, z, states, mask, 0.9, seed=5))
    assert not torch.equal(first, per_clip_loss(dit, z, states, mask, 0.9, seed=6))


def test_start_image_mode_conditions_on_the_first_frame_and_scores_the_rest(tiny_engine):
    """With --start-image the first latent frame is given clean: it is context (changing it
    changes the loss of the others) and never scored (a clip of one latent frame has nothing
    left to predict)."""
    import torch

    g = torch.Generator().manual_seed(1)
    z = torch.randn(2, 4, 3, 6, 8, generator=g)
    states, mask = tiny_engine.text.encode(["a red ball moves left", "a blue box rests"])
    dit = tiny_engine.bundle.dit
    i2v = per_clip_loss(dit, z, states, mask, 0.9, seed=5, start_image=True)
    assert not torch.equal(i2v, per_clip_loss(dit, z, states, mask, 0.9, seed=5))
    other_start = z.clone()
    other_start[:, :, :1] = torch.randn(2, 4, 1, 6, 8, generator=g)
    moved = per_clip_loss(dit, other_start, states, mask, 0.9, seed=5, start_image=True)
    assert not torch.allclose(i2v, moved)
    assert torch.isnan(per_clip_loss(dit, z[:, :, :1], states, mask, 0.9, 5, True)).all()


def test_probe_cli_start_image_mode(tiny_model_dir, tmp_path):
    out = tmp_path / "probe.json"
    argv = ["probe", "--model", str(tiny_model_dir), "--device", "cpu", "--clips", "2"]
    argv += ["--frames", "5", "--attributes", "direction", "--start-image", "--out", str(out)]
    assert engine_main(argv) == 0
    data = json.loads(out.read_text())
    assert data["task"] == "i2v" and data["attributes"]["direction"]["clips"] >= 1


def test_the_context_probe_swaps_each_clips_own_context_for_another_storys(tiny_engine):
    """A clip's loss with its own previous scene or reference still against another story's,
    with the same caption and noise; a model that ignores context would show no gap at all."""
    import torch

    from engine.eval_prompt import CONTEXTS
    from engine.sequence import Context

    cfg = ProbeConfig(clips=6, frames=9, levels=(0.5, 0.95))
    r = probe(tiny_engine, cfg, list(CONTEXTS))
    assert list(r) == ["previous", "reference"]
    for name, res in r.items():
        assert res["clips"] >= 2, name  # a story's first scene has no previous one to swap
        for lv in res["levels"].values():
            assert 0 <= lv["preference"] <= 1 and lv["gap"] != 0, name  # the context is read
    prev = r["previous"]  # split into stories that go on from the last scene and cuts
    parts = [prev[p]["clips"] for p in ("continues", "cut") if p in prev]
    assert sum(parts) == prev["clips"]
    table = format_table(r)
    assert "previous" in table and "reference" in table
    assert ("  continues" in table) == ("continues" in prev)
    dit = tiny_engine.bundle.dit
    z = torch.randn(2, 4, 3, 6, 8, generator=torch.Generator().manual_seed(0))
    states, mask = tiny_engine.text.encode(["a red ball moves left"] * 2)
    prev = torch.randn(2, 4, 2, 6, 8, generator=torch.Generator().manual_seed(1))
    plain = per_clip_loss(dit, z, states, mask, 0.9, seed=5)
    with_prev = per_clip_loss(dit, z, states, mask, 0.9, seed=5, context=Context(previous=prev))
    assert not torch.equal(plain, with_prev)  # the previous frames go into the sequence
    again = per_clip_loss(dit, z, states, mask, 0.9, seed=5, context=Context(previous=prev))
    assert torch.equal(with_prev, again)
