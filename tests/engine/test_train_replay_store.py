"""The replay window on disk: a resumed run reads its earlier batches instead of rendering them,
and stays exactly the run it would have been."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from engine.sequence import Context
from engine.train import run
from engine.train_replay_store import ReplayStore, batch_identity
from engine.train_steps import Prepared
from tests.engine.test_train import assert_dit_resumes_exactly, losses, tiny_config


def a_prepared(refs: list | None) -> Prepared:
    g = torch.Generator().manual_seed(5)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    ctx = Context(
        start=r(2, 4, 1, 3, 4), previous=r(2, 4, 2, 3, 4), continues=True, references=refs
    )
    mask = torch.tensor([[True, True, False], [True, False, False]])
    return Prepared(
        r(2, 4, 2, 3, 4),
        ctx,
        torch.tensor([True, False]),
        r(2, 2) > 0,
        r(2, 3, 8),
        mask,
        12,
        r(2, 6),
    )


def same(a: Prepared, b: Prepared) -> bool:
    def eq(x, y):
        if x is None or y is None:
            return x is None and y is None
        return x.dtype == y.dtype and torch.equal(x, y)

    refs = (a.ctx.references is None) == (b.ctx.references is None) and all(
        eq(x, y) for x, y in zip(a.ctx.references or [], b.ctx.references or [], strict=True)
    )
    return (
        refs
        and a.per_item == b.per_item
        and a.ctx.continues == b.ctx.continues
        and all(
            eq(getattr(a, k), getattr(b, k))
            for k in ("z", "prev_valid", "ref_valid", "text", "text_mask", "cover")
        )
        and eq(a.ctx.start, b.ctx.start)
        and eq(a.ctx.previous, b.ctx.previous)
    )


@pytest.mark.parametrize("refs", [None, [], "two"])
def test_a_stored_batch_reads_back_bit_for_bit_in_a_new_store(tmp_path, refs):
    if refs == "two":
        refs = [torch.randn(2, 4, 1, 3, 4), torch.randn(2, 4, 1, 3, 4)]
    p = a_prepared(refs)
    ReplayStore(tmp_path, "cpu", "a").put(40, p)
    again = ReplayStore(tmp_path, "cpu", "a")  # a resumed run finds it by its name
    assert 40 in again and len(again) == 1
    assert same(again.get(40), p)
    assert again.get(44) is None


def test_the_store_forgets_what_replay_cannot_reach_and_what_it_cannot_read(tmp_path):
    store = ReplayStore(tmp_path, "cpu", "a")
    for src in (0, 4, 8, 12):
        store.put(src, a_prepared(None))
    store.keep_from(8)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "000000008.safetensors",
        "000000012.safetensors",
        "identity.txt",
    ]
    (tmp_path / "000000012.safetensors").write_bytes(b"not a safetensors file")
    (tmp_path / ".000000016.safetensors.x.tmp").write_bytes(b"cut short")
    store = ReplayStore(tmp_path, "cpu", "a")  # a cut write's temp file is cleared
    assert store.get(12) is None and 12 not in store  # unreadable: rendered again, then rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000008.safetensors", "identity.txt"]
    # another recipe, autoencoder or prompt encoder made them: none is read, all are cleared
    store = ReplayStore(tmp_path, "cpu", "b")
    assert len(store) == 0 and store.get(8) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["identity.txt"]
    assert (tmp_path / "identity.txt").read_text() == "b\n"


def test_a_write_the_system_refuses_stops_the_store_not_its_reads(tmp_path):
    # a real refusal by the system: a file-size limit makes the write fail as a full disk does
    import resource

    store = ReplayStore(tmp_path, "cpu", "a")
    store.put(0, a_prepared(None))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))  # SIGXFSZ is ignored by Python
    try:
        store.put(4, a_prepared(None))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert store.error is not None and "File too large" in store.error
    assert 4 not in store and not list(tmp_path.glob("*.tmp"))  # no half-written file
    store.put(8, a_prepared(None))  # stopped: no more writes, the kept ones still read
    assert 8 not in store and same(store.get(0), a_prepared(None))


def test_a_store_that_cannot_be_made_stops_the_store_not_the_run(tmp_path):
    cfg = tiny_config(replay_ratio=1, replay_size=2, replay_on_disk=True, dit_steps=4)
    run(cfg, tmp_path, "vae", 5, False, "cpu")
    (tmp_path / "replay").write_text("a file where the store's folder goes")
    run(cfg, tmp_path, "dit", 5, True, "cpu")
    assert sorted(losses(tmp_path / "training_log.jsonl")) == [1, 2, 3, 4]
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    errors = [r for r in rows if r.get("event") == "replay_store"]
    assert len(errors) == 1 and "File exists" in errors[0]["error"]
    assert (tmp_path / "replay").read_text() == "a file where the store's folder goes"


def test_a_resumed_run_reads_its_earlier_batches_and_stays_exact(tmp_path):
    # steps 0-2 before the interruption; step 3 replays batch 0 or 2, in no memory after a resume
    store_cfg = tiny_config(replay_ratio=1, replay_size=2, replay_on_disk=True)
    plain = tmp_path / "plain"
    run(tiny_config(replay_ratio=1, replay_size=2), plain, "vae", 5, False, "cpu")
    stored = tmp_path / "stored"
    shutil.copytree(plain, stored)
    la = assert_dit_resumes_exactly(store_cfg, stored, stop_at=3)
    run(tiny_config(replay_ratio=1, replay_size=2), plain, "dit", 5, True, "cpu")
    assert losses(plain / "training_log.jsonl") == la  # the store changes the speed, not the run
    log = tmp_path / "stored-interrupted" / "training_log.jsonl"
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    steps = [r for r in rows if r.get("event") == "step" and r["stage"] == "dit"]
    assert [r["replay_read"] for r in steps if r["step"] <= 3] == [0, 0, 0]
    assert [r for r in steps if r["step"] == 4][-1]["replay_read"] == 1  # step 3, from disk
    # fresh batches are steps 0, 2, 4, 6: the window of the last is batches 4 and 6
    names = sorted(p.name for p in (tmp_path / "stored-interrupted" / "replay").iterdir())
    assert names == ["000000004.safetensors", "000000006.safetensors", "identity.txt"]
    assert steps[-1]["replay_stored"] == 2


def test_a_batch_s_identity_is_its_recipe_autoencoder_and_prompt_encoder(tmp_path):
    from engine.model_bundle import build_vae
    from engine.models.text import encoder_dir

    cfg = tiny_config()
    vae = build_vae(cfg.vae)
    text = encoder_dir()
    base = batch_identity(cfg.to_dict(), vae, text)
    faster = tiny_config(replay_on_disk=True, checkpoint_minutes=1.0, prepare_ahead=2)
    assert batch_identity(faster.to_dict(), vae, text) == base  # the speed is not the batch
    assert batch_identity(tiny_config(seed=1).to_dict(), vae, text) != base
    with torch.no_grad():
        next(vae.parameters()).add_(1e-6)  # a retrained autoencoder: other latents
    assert batch_identity(cfg.to_dict(), vae, text) != base
    other = tmp_path / "text"
    other.mkdir()
    (other / "model.safetensors").write_bytes((text / "model.safetensors").read_bytes()[:-1])
    assert batch_identity(cfg.to_dict(), vae, other) != batch_identity(cfg.to_dict(), vae, text)


def test_a_run_resumed_with_another_recipe_reads_no_stale_batch(tmp_path):
    run(tiny_config(replay_ratio=1, replay_size=2), tmp_path, "vae", 5, False, "cpu")
    cfg = tiny_config(replay_ratio=1, replay_size=2, replay_on_disk=True)
    run(cfg, tmp_path, "dit", 5, True, "cpu", stop_at=3)
    assert len(list((tmp_path / "replay").glob("*.safetensors"))) == 2  # batches 0 and 2
    run(
        tiny_config(replay_ratio=1, replay_size=2, replay_on_disk=True, seed=1),
        tmp_path,
        "dit",
        5,
        True,
        "cpu",
    )
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r.get("event") == "step" and r["stage"] == "dit"]
    assert [r["replay_read"] for r in steps if r["step"] > 3] == [0] * 5  # step 3 rendered anew
