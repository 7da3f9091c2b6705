"""Training on the story world: loss goes down, and a run resumes exactly."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from engine.train import run
from engine.train_config import Bucket, TrainConfig


def tiny_config(**kw) -> TrainConfig:
    from engine.models.vae import VAEConfig

    vae = VAEConfig.tiny(latent_channels=4).to_dict()
    base = dict(
        name="test",
        vae=vae,
        dit={"latent_channels": 4, "width": 64, "depth": 2, "heads": 2},
        native_width=64,
        native_height=48,
        native_fps=8.0,
        vae_steps=4,
        dit_steps=8,
        warmup=2,
        vae_pixels_per_batch=64 * 48 * 10,
        tokens_per_batch=48 * 4,
        vae_buckets=[Bucket(64, 48, 5)],
        dit_buckets=[Bucket(64, 48, 5)],
        tasks_early={"t2v": 0.5, "i2v": 0.5},
        tasks_late={"t2v": 0.2, "carry": 0.3, "continue": 0.2, "refs": 0.3},
        context_start=0.25,
        latent_stat_batches=1,
        val_every=1000,
        log_every=1,
        checkpoint_minutes=100.0,
    )
    base.update(kw)
    return TrainConfig(**base)


def losses(log_path, stage="dit"):
    rows = [json.loads(line) for line in log_path.read_text().splitlines()]
    return {
        r["step"]: r["loss"] for r in rows if r.get("event") == "step" and r.get("stage") == stage
    }


def assert_dit_resumes_exactly(cfg, a, stop_at: int) -> dict[int, float]:
    """Run the transformer stage of run folder `a` to the end, and of a copy of it interrupted
    at `stop_at` and resumed by a new Trainer: the steps after the interruption have the same
    losses. Returns the uninterrupted run's {step: loss}."""
    b = a.with_name(a.name + "-interrupted")
    shutil.copytree(a, b)
    run(cfg, a, "dit", 5, True, "cpu")
    run(cfg, b, "dit", 5, True, "cpu", stop_at=stop_at)
    run(cfg, b, "dit", 5, True, "cpu")
    la, lb = losses(a / "training_log.jsonl"), losses(b / "training_log.jsonl")
    assert sorted(la) == list(range(1, cfg.dit_steps + 1))
    for step in range(stop_at + 1, cfg.dit_steps + 1):
        assert lb[step] == pytest.approx(la[step], rel=1e-5, abs=1e-6)
    return la


def test_resume_gives_the_same_losses_as_an_uninterrupted_run(tmp_path):
    cfg = tiny_config(replay_ratio=1, replay_size=2)
    a = tmp_path / "a"
    run(cfg, a, "vae", 5, False, "cpu")
    assert_dit_resumes_exactly(cfg, a, stop_at=4)  # 8 steps, interrupted after 4
    model = json.loads((a / "model" / "config.json").read_text())
    assert (
        model["training"]["dit_steps_done"] == 8 and (a / "model" / "model.safetensors").is_file()
    )


def test_a_run_saved_before_the_pooled_prompt_resumes_with_it_grown(tmp_path):
    old = {"latent_channels": 4, "width": 64, "depth": 2, "heads": 2, "pooled_text": False}
    run(tiny_config(dit=old), tmp_path, "vae", 5, False, "cpu")
    run(tiny_config(dit=old), tmp_path, "dit", 5, True, "cpu", stop_at=4)
    run(tiny_config(dit=dict(old, pooled_text=True)), tmp_path, "dit", 5, True, "cpu")
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    grow = [r for r in rows if r.get("event") == "grow"]
    assert len(grow) == 1 and grow[0]["step"] == 4 and grow[0]["added"] == ["text_pool"]
    assert sorted(losses(tmp_path / "training_log.jsonl")) == list(range(1, 9))
    model = json.loads((tmp_path / "model" / "config.json").read_text())
    assert model["dit"]["pooled_text"] is True and model["training"]["dit_steps_done"] == 8


def test_decoder_fine_tuning_keeps_the_latents_and_the_transformer_and_resumes(tmp_path):
    from safetensors.torch import load_file

    cfg = tiny_config(decoder_steps=4, decoder_lr=1e-3)
    run(cfg, tmp_path, "vae", 5, False, "cpu")
    run(cfg, tmp_path, "dit", 5, True, "cpu")
    before = load_file(str(tmp_path / "model" / "model.safetensors"))
    run(cfg, tmp_path, "decoder", 5, True, "cpu")
    after = load_file(str(tmp_path / "model" / "model.safetensors"))
    assert before.keys() == after.keys()
    for k in before:
        same = torch.equal(before[k], after[k])
        # the encoder (so every latent), its statistics and the transformer are untouched
        assert same == (not k.startswith("vae.decoder.")), k
    run(tiny_config(decoder_steps=6, decoder_lr=1e-3), tmp_path, "decoder", 5, True, "cpu")
    assert sorted(losses(tmp_path / "training_log.jsonl", "decoder")) == list(range(1, 7))
    model = json.loads((tmp_path / "model" / "config.json").read_text())
    assert model["training"]["dit_steps_done"] == 8
    assert model["training"]["totals"]["decoder_seconds"] > 0
    per = model["training"]["totals"]["device_seconds"]  # every stage's time, by device
    assert list(per) == ["cpu"]
    stages = ("vae_seconds", "dit_seconds", "decoder_seconds")
    assert per["cpu"] == pytest.approx(sum(model["training"]["totals"][k] for k in stages))
    # the transformer stage, resumed later, keeps the fine-tuned decoder in what it exports
    tuned = load_file(str(tmp_path / "model" / "model.safetensors"))
    run(tiny_config(dit_steps=9), tmp_path, "dit", 5, True, "cpu")
    again = load_file(str(tmp_path / "model" / "model.safetensors"))
    decoder = [k for k in tuned if k.startswith("vae.decoder.")]
    assert all(torch.equal(again[k], tuned[k]) for k in decoder)
    assert not all(torch.equal(again[k], before[k]) for k in decoder)


def test_a_decoder_tuned_before_any_transformer_is_the_one_the_transformer_starts_on(tmp_path):
    # a new autoencoder is made ready (its stage, then its decoder) before a transformer is
    # trained or rebased onto it: the decoder tunes this run's autoencoder, not a random one
    from safetensors.torch import load_file

    from engine.request import EngineError

    cfg = tiny_config(decoder_steps=4, decoder_lr=1e-3)
    with pytest.raises(EngineError, match="train --stage vae in this run first"):
        run(cfg, tmp_path / "empty", "decoder", 5, False, "cpu")
    run(cfg, tmp_path, "vae", 5, False, "cpu")
    ae = load_file(str(tmp_path / "model" / "model.safetensors"))
    run(cfg, tmp_path, "decoder", 5, False, "cpu")
    tuned = load_file(str(tmp_path / "model" / "model.safetensors"))
    vae_keys = [k for k in ae if k.startswith("vae.")]
    for k in vae_keys:  # the encoder and its statistics kept, the decoder tuned
        assert torch.equal(ae[k], tuned[k]) == (not k.startswith("vae.decoder.")), k
    run(cfg, tmp_path, "dit", 5, False, "cpu")
    model = load_file(str(tmp_path / "model" / "model.safetensors"))
    assert all(torch.equal(model[k], tuned[k]) for k in vae_keys)
    record = json.loads((tmp_path / "model" / "config.json").read_text())["training"]
    totals = record["totals"]
    assert record["dit_steps_done"] == 8 and totals["decoder_seconds"] > 0
    stages = ("vae_seconds", "dit_seconds", "decoder_seconds")  # every stage's time, once
    assert totals["device_seconds"]["cpu"] == pytest.approx(sum(totals[k] for k in stages))


def test_a_model_folders_decoder_is_tuned_further_without_its_run(tmp_path):
    # a GPU-trained transformer comes back as a model folder; its decoder is tuned on a CPU
    from safetensors.torch import load_file

    cfg = tiny_config(decoder_steps=3, decoder_lr=1e-3)
    run(cfg, tmp_path / "first", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "first", "dit", 5, True, "cpu")
    folder = tmp_path / "first" / "model"
    before = load_file(str(folder / "model.safetensors"))
    run(cfg, tmp_path / "tune", "decoder", 5, False, "cpu", init_from=folder)
    out = tmp_path / "tune" / "model"
    after = load_file(str(out / "model.safetensors"))
    for k in before:  # the transformer, the encoder and its statistics stay exactly
        assert torch.equal(before[k], after[k]) == (not k.startswith("vae.decoder.")), k
    model = json.loads((out / "config.json").read_text())
    assert model["training"]["dit_steps_done"] == 8  # the folder's transformer, as it came
    rows = [json.loads(x) for x in (out / "training_log.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in rows if r.get("event") == "init"] == ["decoder"]
    assert sorted(losses(out / "training_log.jsonl", "decoder")) == [1, 2, 3]
    # a further cycle from that folder trains on another stream of world batches than this one
    # (with noise on its latents: the encoder and transformer still stay exactly)
    noisy = tiny_config(decoder_steps=3, decoder_lr=1e-3, decoder_latent_noise=0.5)
    run(noisy, tmp_path / "again", "decoder", 5, False, "cpu", init_from=out)
    log = (tmp_path / "again" / "model" / "training_log.jsonl").read_text().splitlines()
    inits = [r for r in map(json.loads, log) if r.get("event") == "init"]
    assert [r["batches"] for r in inits] == [2, 3]
    again = load_file(str(tmp_path / "again" / "model" / "model.safetensors"))
    for k in before:
        assert torch.equal(after[k], again[k]) == (not k.startswith("vae.decoder.")), k
    kept = json.loads((tmp_path / "again" / "train_config.json").read_text())
    assert kept["decoder_latent_noise"] == 0.5


def test_an_adversarial_decoder_cycle_trains_its_discriminator_and_resumes_exactly(tmp_path):
    # the decoder's adversarial term (decoder_adv_weight): the discriminator learns from the
    # first step, the decoder gets the term after decoder_adv_start steps, the encoder and the
    # transformer stay exactly, and a cycle interrupted and resumed gives the same losses
    from safetensors.torch import load_file

    cfg = tiny_config(decoder_steps=3)
    run(cfg, tmp_path / "first", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "first", "dit", 5, True, "cpu")
    folder = tmp_path / "first" / "model"
    adv = tiny_config(decoder_steps=5, decoder_lr=1e-3, decoder_adv_weight=0.5, decoder_adv_start=2)
    run(adv, tmp_path / "whole", "decoder", 5, False, "cpu", init_from=folder)
    run(adv, tmp_path / "cut", "decoder", 5, False, "cpu", init_from=folder, stop_at=3)
    run(adv, tmp_path / "cut", "decoder", 5, True, "cpu", init_from=folder)

    def rows(run_dir):
        log = (run_dir / "training_log.jsonl").read_text().splitlines()
        return {
            r["step"]: r
            for r in map(json.loads, log)
            if r.get("event") == "step" and r.get("stage") == "decoder"
        }

    whole, cut = rows(tmp_path / "whole"), rows(tmp_path / "cut")
    assert sorted(whole) == sorted(cut) == [1, 2, 3, 4, 5]
    for k in ("loss", "adv_d"):
        assert [whole[s][k] for s in whole] == pytest.approx([cut[s][k] for s in cut], rel=1e-5)
    assert all(math.isfinite(r["adv_d"]) for r in whole.values())
    assert "adv_g" not in whole[2] and whole[3]["adv_scale"] > 0  # after its head start
    before = load_file(str(folder / "model.safetensors"))
    after = load_file(str(tmp_path / "whole" / "model" / "model.safetensors"))
    assert before.keys() == after.keys()  # the discriminator is not part of the model
    for k in before:
        assert torch.equal(before[k], after[k]) == (not k.startswith("vae.decoder.")), k


def test_loss_decreases_on_a_handful_of_clips(tmp_path):
    cfg = tiny_config(
        dit_steps=60,
        vae_steps=30,
        data_pool=2,
        dit_lr=3e-3,
        vae_lr=3e-3,
        tasks_early={"t2v": 1.0},
        tasks_late={"t2v": 1.0},
        warmup=5,
    )
    run(cfg, tmp_path, "all", 10, False, "cpu")
    vae = losses(tmp_path / "training_log.jsonl", "vae")
    dit = losses(tmp_path / "training_log.jsonl", "dit")
    first = sum(dit[s] for s in range(1, 7)) / 6
    last = sum(dit[s] for s in range(55, 61)) / 6
    assert last < 0.7 * first, (first, last)
    assert vae[30] < vae[1]


@pytest.mark.parametrize("task", ["t2v", "i2v", "carry", "refs", "continue"])
@pytest.mark.parametrize("frames", [1, 5])
def test_every_task_trains_on_stills_and_clips(tmp_path, task, frames):
    """Each context task makes a batch with something left to predict, for every bucket
    (a still bucket once crashed 'continue': its context took every latent frame)."""
    import torch

    from engine.train import Trainer
    from engine.train_steps import dit_loss, prepare

    cfg = tiny_config(dit_buckets=[Bucket(64, 48, frames)])
    tr = Trainer(cfg, tmp_path / "run", "cpu")
    b = cfg.dit_buckets[0]
    for validation in (False, True):
        prepared = prepare(tr, task, b, seed=3, validation=validation)
        assert prepared.z.shape[2] >= 1
        loss, info = dit_loss(tr, task, b, 0, prepared=prepared, validation=validation)
        assert torch.isfinite(loss) and info["tokens"] > 0


def test_object_weights_cover_the_objects_and_their_outline():
    from engine.train_steps import object_weight

    cover = torch.zeros(1, 2, 20, 20)
    cover[0, 1, 10, 10] = 1.0
    w = object_weight(cover, 9.0, reach=2)
    assert w.shape == (1, 1, 2, 20, 20)
    assert torch.all(w[0, 0, 0] == 1)  # nothing in frame 0
    assert torch.all(w[0, 0, 1, 8:13, 8:13] == 10) and w[0, 0, 1].sum() == 400 + 9 * 25


def test_the_autoencoder_trains_with_object_weights(tmp_path):
    run(tiny_config(), tmp_path / "plain", "vae", 5, False, "cpu")
    run(tiny_config(vae_object_weight=10.0), tmp_path / "weighted", "vae", 5, False, "cpu")
    plain = losses(tmp_path / "plain" / "training_log.jsonl", "vae")
    weighted = losses(tmp_path / "weighted" / "training_log.jsonl", "vae")
    assert sorted(weighted) == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(v)) for v in weighted.values())
    # same seed, same batches, same start: only the weighting differs
    assert weighted[1] != pytest.approx(plain[1], rel=1e-3)


def test_a_retrained_autoencoder_rebases_the_transformer_and_retires_the_old_decoder(tmp_path):
    from safetensors.torch import load_file

    cfg = tiny_config(decoder_steps=3, decoder_lr=1e-3)
    run(cfg, tmp_path, "vae", 5, False, "cpu")
    run(cfg, tmp_path, "dit", 5, True, "cpu")
    run(cfg, tmp_path, "decoder", 5, True, "cpu")
    tuned = load_file(str(tmp_path / "model" / "model.safetensors"))
    # the autoencoder continues with object weights: new latents
    again = tiny_config(vae_steps=6, vae_object_weight=10.0, dit_steps=10, decoder_steps=3)
    run(again, tmp_path, "vae", 5, True, "cpu")
    vae = {
        k: v.to(torch.float16)
        for k, v in load_file(str(tmp_path / "state_vae.safetensors")).items()
    }
    run(again, tmp_path, "dit", 5, True, "cpu")
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["vae_step"]) for r in rows if r.get("event") == "rebase"] == [(8, 6)]
    assert sorted(losses(tmp_path / "training_log.jsonl")) == list(range(1, 11))
    model = load_file(str(tmp_path / "model" / "model.safetensors"))
    for k in (k for k in model if k.startswith("vae.")):  # the export is fp16
        assert torch.equal(model[k], vae[k]), k  # the new autoencoder, decoder included
    assert not all(torch.equal(model[k], tuned[k]) for k in model if k.startswith("vae.enc"))
    # the retired decoder's minutes stay on the record, apart from the weights' own
    totals = json.loads((tmp_path / "model" / "config.json").read_text())["training"]["totals"]
    assert "decoder_seconds" not in totals and totals["retired_decoder_seconds"] > 0
    retired = totals["retired_decoder_seconds"]
    # a decoder fine-tuned for the old encoder does not resume: it starts again on the new one
    run(again, tmp_path, "decoder", 5, True, "cpu")
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    assert any(r.get("event") == "restart" and r["stage"] == "decoder" for r in rows)
    final = load_file(str(tmp_path / "model" / "model.safetensors"))
    assert all(torch.equal(final[k], vae[k]) for k in vae if k.startswith("vae.encoder."))
    assert not all(torch.equal(final[k], vae[k]) for k in vae if k.startswith("vae.decoder."))
    totals = json.loads((tmp_path / "model" / "config.json").read_text())["training"]["totals"]
    assert totals["retired_decoder_seconds"] == retired and totals["decoder_seconds"] > 0
    # and a transformer resumed over the new decoder keeps both records as they are
    run(again, tmp_path, "dit", 5, True, "cpu")
    again_totals = json.loads((tmp_path / "model" / "config.json").read_text())["training"]
    assert again_totals["totals"]["retired_decoder_seconds"] == retired
    assert again_totals["totals"]["decoder_seconds"] == totals["decoder_seconds"]


def test_a_model_folder_continues_from_its_step_with_its_log_and_a_new_warm_up(tmp_path):
    from safetensors.torch import load_file

    from engine.request import EngineError

    cfg = tiny_config(warmup=3)
    run(cfg, tmp_path / "first", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "first", "dit", 5, True, "cpu", stop_at=4)
    shipped = tmp_path / "first" / "model"  # a model folder, as shipped: weights, config, log
    with pytest.raises(EngineError, match="dit_steps"):  # its schedule has no room left
        run(tiny_config(dit_steps=4), tmp_path / "none", "dit", 5, False, "cpu", init_from=shipped)
    # elsewhere (a GPU machine): a new run from the folder, with a fresh optimizer
    more = tmp_path / "more"
    run(cfg, more, "dit", 5, False, "cpu", init_from=shipped, stop_at=6)
    rows = [json.loads(x) for x in (more / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r.get("event") == "init"] == [4]
    steps = {r["step"]: r for r in rows if r.get("event") == "step" and r["stage"] == "dit"}
    assert sorted(steps) == [1, 2, 3, 4, 5, 6]  # the folder's own log, then on from step 4
    # the learning rate warms up again over `warmup` steps from where it started
    from engine.train import lr_at

    for step, ramp in ((5, 1 / 3), (6, 2 / 3)):
        want = lr_at(step - 1, cfg.dit_lr, 3, cfg.dit_steps, cfg.min_lr_ratio) * ramp
        assert steps[step]["lr"] == pytest.approx(want)
    # and it resumes exactly, warm-up included, like any run
    assert_dit_resumes_exactly(cfg, more, stop_at=7)
    model = json.loads((more / "model" / "config.json").read_text())
    assert model["training"]["dit_steps_done"] == 8
    first = load_file(str(shipped / "model.safetensors"))
    later = load_file(str(more / "model" / "model.safetensors"))
    assert all(torch.equal(first[k], later[k]) for k in first if k.startswith("vae."))
    assert not all(torch.equal(first[k], later[k]) for k in first if k.startswith("dit."))


def test_config_keys_can_be_overridden_on_the_command_line(tmp_path):
    from engine.request import EngineError

    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"name": "x", "dit_steps": 10, "sampler": "euler"}))
    cfg = TrainConfig.load(path, ["dit_steps=40", "tokens_per_batch=4096", "sampler=multistep"])
    assert (cfg.dit_steps, cfg.tokens_per_batch, cfg.sampler) == (40, 4096, "multistep")
    for bad, match in (("nonsense=1", "unknown keys"), ("dit_steps", "KEY=VALUE")):
        with pytest.raises(EngineError, match=match):
            TrainConfig.load(path, [bad])


def dit_in_step_and_with(tmp_path, replay_ratio: int, **variant):
    """Train the same 6 transformer steps (after one autoencoder) twice: every batch made in
    its step, and with `variant`'s data-path settings. Returns the two run folders."""
    base = dict(dit_steps=6, replay_ratio=replay_ratio, replay_size=2)
    a, b = tmp_path / "in-step", tmp_path / "variant"
    run(tiny_config(**base), a, "vae", 5, False, "cpu")
    shutil.copytree(a, b)
    run(tiny_config(**base), a, "dit", 5, True, "cpu")
    run(tiny_config(**base, **variant), b, "dit", 5, True, "cpu")
    return a, b


@pytest.mark.parametrize("replay_ratio", [0, 1])
def test_data_workers_render_exactly_the_batches_of_the_training_process(tmp_path, replay_ratio):
    # workers render the coming world batches in other processes: the run must not change
    a, b = dit_in_step_and_with(tmp_path, replay_ratio, data_workers=2)
    la, lb = losses(a / "training_log.jsonl"), losses(b / "training_log.jsonl")
    assert sorted(la) == sorted(lb) == list(range(1, 7))
    assert lb == la
    # every step row says where the step's time went: waiting for workers, the batch, the model
    for folder, workers in ((a, False), (b, True)):
        rows = [json.loads(x) for x in (folder / "training_log.jsonl").read_text().splitlines()]
        steps = [r for r in rows if r.get("event") == "step" and r["stage"] == "dit"]
        assert steps and all(r["data_s"] >= 0 and r["model_s"] > 0 for r in steps)
        assert all(r["wait_s"] >= 0 if workers else r["wait_s"] == 0 for r in steps)


@pytest.mark.parametrize(("replay_ratio", "workers"), [(0, 0), (1, 0), (1, 2)])
def test_batches_prepared_ahead_in_a_thread_are_the_batches_of_the_step(
    tmp_path, replay_ratio, workers
):
    # a thread prepares the coming fresh batches (with or without worker processes rendering
    # them): the losses are those of the run that prepares each batch in its step
    a, b = dit_in_step_and_with(tmp_path, replay_ratio, data_workers=workers, prepare_ahead=2)
    la, lb = losses(a / "training_log.jsonl"), losses(b / "training_log.jsonl")
    assert sorted(la) == list(range(1, 7)) and lb == la
    rows = [json.loads(x) for x in (b / "training_log.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r.get("event") == "step" and r["stage"] == "dit"]
    # the thread's time per fresh batch is logged; over the run it prepared every fresh batch
    assert all(r["prepare_s"] >= 0 for r in steps)
    fresh = len(range(0, 6, replay_ratio + 1))
    assert fresh <= sum(r["prepared"] for r in steps) <= fresh + 2  # + the ones ordered ahead
    assert any(r["prepare_s"] > 0 for r in steps)


def test_a_continued_run_replays_only_batches_of_its_own(tmp_path):
    # replay draws from the recent fresh batches; a run continued from a model folder at step
    # 1001 must not reach back before it (those batches are in no cache and with no worker)
    from engine.train import Trainer

    tr = Trainer(tiny_config(replay_ratio=3, replay_size=64), tmp_path / "r", "cpu")
    fresh_run = {s: tr._source_step(s) for s in range(1001, 1400)}
    assert min(fresh_run.values()) < 1000  # from scratch, the window reaches back
    tr.warm_from = 1001
    sources = {s: tr._source_step(s) for s in range(1001, 1400)}
    assert all(src % 4 == 0 and src <= s for s, src in sources.items())
    assert {src for s, src in sources.items() if s < 1004} == {1000}  # the batch just before
    assert all(src >= 1004 for s, src in sources.items() if s >= 1004)
    assert len(set(sources.values())) > 50  # still drawn from many recent batches
    assert sources == {s: tr._source_step(s) for s in range(1001, 1400)}  # a pure function


def test_every_tensor_of_a_prepared_batch_is_handed_to_the_training_stream():
    # on a GPU each of them must be marked as used by the step's stream (record_stream), or the
    # preparing stream may reuse its memory while the step still reads it
    from engine.sequence import Context
    from engine.train_ahead import _tensors
    from engine.train_steps import Prepared

    t = [torch.zeros(1) + i for i in range(7)]
    ctx = Context(start=t[0], previous=t[1], references=[t[2], t[3]])
    p = Prepared(t[4], ctx, None, t[5], t[6], t[6][:0], 3)
    found = _tensors(p)
    assert {id(x) for x in found} >= {id(x) for x in t} and len(found) == 8


def test_step_phases_keep_counting_after_each_log_row():
    # the data path adds its waits to the run's one StepPhases: a wait after a log row must
    # land in the next row (rebinding a fresh dict there once lost every wait after the first)
    from engine.train import StepPhases

    phases = StepPhases()
    phases.add("wait_s", 1.0)
    phases.add("model_s", 0.5)
    assert phases.means(2) == {"wait_s": 0.5, "data_s": 0.0, "model_s": 0.25}
    phases.add("wait_s", 0.3)
    assert phases.means(1) == {"wait_s": 0.3, "data_s": 0.0, "model_s": 0.0}


def test_a_run_that_prepares_ahead_resumes_exactly(tmp_path):
    # after a resume the replay cache is empty: replayed batches from before it are prepared
    # again in the step, and the thread goes on with the fresh ones
    cfg = tiny_config(replay_ratio=1, replay_size=2, prepare_ahead=1)
    a = tmp_path / "a"
    run(cfg, a, "vae", 5, False, "cpu")
    assert_dit_resumes_exactly(cfg, a, stop_at=3)


def test_a_world_batch_is_rendered_in_8_bits_the_same_in_a_worker():
    from types import SimpleNamespace

    from engine.model_bundle import build_dit, build_vae
    from engine.train_prefetch import WorldPrefetcher
    from engine.train_steps import render_world, world_order

    cfg = tiny_config()  # an order needs the config and the two models' shapes
    tr = SimpleNamespace(cfg=cfg, vae=build_vae(cfg.vae), dit=build_dit(cfg.dit))
    order = world_order(tr, "carry", cfg.dit_buckets[0], seed=11)
    here = render_world(cfg, order, "cpu")
    pool = WorldPrefetcher(cfg, 1)
    try:
        pool.order(7, order)
        there = pool.take(7)
        assert pool.take(7) is None  # taken once
    finally:
        pool.close()
    assert here.video.dtype == torch.uint8 and torch.equal(here.video, there.video)
    assert here.captions == there.captions
    if here.previous is not None:
        assert torch.equal(here.previous, there.previous)


def test_a_fitted_schedule_ends_when_the_minutes_do(tmp_path):
    from engine.train import lr_at

    cfg = tiny_config(dit_steps=100_000, context_start=0.25, val_every=50)
    run(cfg, tmp_path, "vae", 5, False, "cpu")
    run(cfg, tmp_path, "dit", 0.2, True, "cpu", fit=True)  # 12 s, speed unknown beforehand
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    fits = [r for r in rows if r.get("event") == "fit"]
    assert fits and fits[-1]["dit_steps"] < 100_000
    recipe = json.loads((tmp_path / "train_config.json").read_text())
    total = fits[-1]["dit_steps"]
    assert recipe["dit_steps"] == total  # the run's recipe says what trained it
    # the context tasks still begin at step 25000 of the original schedule
    assert recipe["context_start"] * total == pytest.approx(25_000)
    done = json.loads((tmp_path / "model" / "config.json").read_text())["training"]
    assert 0.7 * total <= done["dit_steps_done"] <= total
    steps = [r for r in rows if r.get("event") == "step" and r["stage"] == "dit"]
    last = steps[-1]
    assert last["lr"] == pytest.approx(
        lr_at(last["step"] - 1, cfg.dit_lr, cfg.warmup, total, cfg.min_lr_ratio), rel=1e-6
    )
    assert last["lr"] < 0.5 * cfg.dit_lr  # well down the cosine: the schedule did end


def test_a_restarted_schedule_begins_a_new_cycle_at_the_model_folders_step(tmp_path):
    from engine.train import lr_at

    cfg = tiny_config(warmup=2)
    run(cfg, tmp_path / "first", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "first", "dit", 5, True, "cpu", stop_at=4)
    more = tmp_path / "more"
    restart = tiny_config(warmup=2, dit_restart=True)
    run(restart, more, "dit", 5, False, "cpu", init_from=tmp_path / "first" / "model")
    rows = [json.loads(x) for x in (more / "training_log.jsonl").read_text().splitlines()]
    steps = {r["step"]: r["lr"] for r in rows if r.get("event") == "step" and r["stage"] == "dit"}
    for step in (5, 6, 7, 8):  # warm-up over 2 steps from step 4, then a cosine over 4 - 2
        assert steps[step] == pytest.approx(lr_at(step - 1 - 4, cfg.dit_lr, 2, 4, cfg.min_lr_ratio))
    assert steps[6] == pytest.approx(cfg.dit_lr)  # the new cycle's peak


def test_the_validation_loss_does_not_depend_on_the_training_batch(tmp_path):
    from engine.train import Trainer

    run(tiny_config(), tmp_path / "a", "vae", 5, False, "cpu")
    run(tiny_config(), tmp_path / "a", "dit", 5, True, "cpu", stop_at=2)
    model = tmp_path / "a" / "model"
    val = []
    for tokens in (48, 48 * 16):  # a CPU's batch and a GPU's
        tr = Trainer(tiny_config(tokens_per_batch=tokens), tmp_path / str(tokens), "cpu", model)
        val.append(tr.validate(tr._val_batches()))
    assert val[0] == pytest.approx(val[1], rel=1e-6)


def test_the_timestep_location_moves_training_towards_high_noise():
    """logit_normal_mean > 0 puts more steps where the prompt alone decides the clip; 0 keeps
    the old distribution exactly (a config without the key resumes unchanged)."""
    from engine.sampling import resolution_shift
    from engine.train_steps import training_timesteps

    n, tokens = 200_000, 1008  # a 256x144, 25-frame clip of the tiny model
    base = training_timesteps(TrainConfig(), n, tokens, torch.Generator().manual_seed(0))
    high = TrainConfig(logit_normal_mean=1.5)
    moved = training_timesteps(high, n, tokens, torch.Generator().manual_seed(0))
    assert 0.0 < float(base.min()) and float(moved.max()) < 1.0
    share = (base > 0.9).float().mean(), (moved > 0.9).float().mean()
    # P(t > 0.9) = P(u > logit(0.9) - log(shift) - mean): 0.058 at mean 0, 0.33 at mean 1.5
    s = resolution_shift(tokens)
    normal = torch.distributions.Normal(0.0, 1.0)
    for mean, got in zip((0.0, 1.5), share, strict=True):
        edge = torch.logit(torch.tensor(0.9)) - torch.log(torch.tensor(s)) - mean
        assert abs(float(got) - float(1 - normal.cdf(edge))) < 0.005
    assert float(share[1]) > 5 * float(share[0])


def test_fast_parts_learn_at_a_multiple_of_the_rate_and_resume_exactly(tmp_path):
    """A branch grown from zero onto a trained model (fast_parts) can learn faster than the
    weights around it; its groups are rebuilt from the config, so a resume is exact."""
    from engine.model_bundle import ModelBundle, build_dit, build_vae

    base = tiny_config()
    a = tmp_path / "a"
    run(base, a, "vae", 5, False, "cpu")
    moved = {}
    for scale in (1.0, 10.0):
        cfg = tiny_config(fast_parts=["x_embed."], fast_lr_scale=scale)
        d = tmp_path / f"s{scale:g}"
        shutil.copytree(a, d)
        if scale == 10.0:
            assert_dit_resumes_exactly(cfg, d, stop_at=3)
        else:
            run(cfg, d, "dit", 5, True, "cpu")
        torch.manual_seed(cfg.seed)  # the trainer's initial weights: autoencoder, then DiT
        build_vae(cfg.vae)
        start = build_dit(cfg.dit).state_dict()
        end = ModelBundle.load(d / "model").dit.state_dict()
        moved[scale] = {
            part: sum(
                float((end[k].float() - start[k]).abs().sum()) for k in end if k.startswith(part)
            )
            for part in ("x_embed.", "blocks.0.mlp.")
        }
    assert moved[10.0]["x_embed."] > 4 * moved[1.0]["x_embed."]
    assert moved[10.0]["blocks.0.mlp."] < 2 * moved[1.0]["blocks.0.mlp."]


def test_token_cover_follows_the_objects_in_patchify_order():
    """A token's cover is the share of its pixels an object covers, in the frames its latent
    frame encodes (the first alone, then groups of four), in patchify's order."""
    from types import SimpleNamespace

    from engine.models.dit import patchify
    from engine.train_steps import token_cover

    vae = SimpleNamespace(spatial_factor=8, temporal_factor=4)  # patch (1, 2, 2): 16x16 pixels
    cover = torch.zeros(1, 9, 32, 48)  # 9 frames -> latent frames 0, 1-4, 5-8; 2x3 tokens each
    cover[0, 0, :16, :16] = 1.0  # frame 0: the first token, whole
    cover[0, 3, 16:, 32:40] = 1.0  # frame 3 (latent 1): half of the last token
    share = token_cover(cover, vae, (1, 2, 2))
    assert share.shape == (1, 3, 2, 3)
    expect = torch.zeros(1, 3, 2, 3)
    expect[0, 0, 0, 0], expect[0, 1, 1, 2] = 1.0, 0.5
    assert torch.equal(share, expect)
    # flattened like the tokens: the token patchify puts first is the covered one
    assert share.flatten(1)[0, 0] == 1.0 and share.flatten(1)[0, 6 + 5] == 0.5
    grid = torch.zeros(1, 1, 3, 4, 6)
    grid[0, 0, 1, 2:, 4:] = 1.0  # latent frame 1, bottom-right 2x2 latent pixels: one token
    assert patchify(grid, (1, 2, 2))[0].sum(-1).argmax() == 6 + 5


def test_validation_reports_the_loss_on_the_objects_apart(tmp_path):
    """Validation batches always carry their objects' cover: the log's val_object_loss is the
    loss on the tokens they cover, and the plain val_loss is what it was without it."""
    from engine.train import Trainer
    from engine.train_steps import dit_loss, prepare

    run(tiny_config(), tmp_path / "a", "vae", 5, False, "cpu")
    run(tiny_config(), tmp_path / "a", "dit", 5, True, "cpu", stop_at=2)
    tr = Trainer(tiny_config(), tmp_path / "b", "cpu", tmp_path / "a" / "model")
    parts = tr.validate_parts(tr._val_batches())
    assert parts["val_loss"] == tr.validate(tr._val_batches())
    assert math.isfinite(parts["val_object_loss"]) and parts["val_object_loss"] > 0
    task, b, seed = tr._val_batches()[0]
    p = prepare(tr, task, b, tr.cfg.seed * 7919 + seed, validation=True)
    plain = prepare(tr, task, b, tr.cfg.seed * 7919 + seed, validation=False)
    assert p.cover is not None and plain.cover is None  # only validation renders the cover
    with torch.no_grad():
        loss, info = dit_loss(tr, task, b, seed, model=tr.ema, validation=True, prepared=p)
    assert float(info["object_loss"]) != pytest.approx(float(loss))  # a subset of the tokens
    rows = [
        json.loads(x) for x in (tmp_path / "a" / "training_log.jsonl").read_text().split("\n") if x
    ]
    assert any("val_object_loss" in r for r in rows if r.get("event") == "val")


def test_a_trained_transformer_grows_absolute_positions_and_trains_them(tmp_path):
    """--init-from with absolute_pos in the config: the folder's transformer gains the branch
    (from zero, so it starts as the same function) and the branch learns (fast_parts)."""
    from safetensors.torch import load_file

    cfg = tiny_config(warmup=3)
    run(cfg, tmp_path / "first", "vae", 5, False, "cpu")
    run(cfg, tmp_path / "first", "dit", 5, True, "cpu", stop_at=4)
    shipped = tmp_path / "first" / "model"
    grown = tiny_config(warmup=3, dit={**cfg.dit, "absolute_pos": True}, fast_parts=["pos_embed."])
    run(grown, tmp_path / "more", "dit", 5, False, "cpu", init_from=shipped, stop_at=6)
    out = tmp_path / "more" / "model"
    assert json.loads((out / "config.json").read_text())["dit"]["absolute_pos"] is True
    before, after = (load_file(str(d / "model.safetensors")) for d in (shipped, out))
    assert not any("pos_embed" in k for k in before)
    assert after["dit.pos_embed.2.weight"].abs().max() > 0  # grown at zero, then trained


@pytest.mark.parametrize("task", ["t2v", "i2v", "carry", "refs", "continue"])
def test_the_motion_loss_adds_to_training_and_leaves_validation_as_it_was(tmp_path, task):
    from engine.train import Trainer
    from engine.train_steps import dit_loss, prepare

    b = Bucket(64, 48, 9)  # 3 latent frames: 2 differences, 1 after a given start frame
    plain_tr = Trainer(tiny_config(dit_buckets=[b]), tmp_path / "plain", "cpu")
    tr = Trainer(tiny_config(dit_buckets=[b], motion_loss_weight=2.0), tmp_path / "m", "cpu")
    tr.dit.load_state_dict(plain_tr.dit.state_dict())
    with torch.no_grad():  # a transformer that predicts something (adaLN-Zero starts at zero)
        for p in tr.dit.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    plain_tr.dit.load_state_dict(tr.dit.state_dict())
    p = prepare(tr, task, b, seed=3, validation=False)
    with torch.no_grad():
        base, _ = dit_loss(plain_tr, task, b, 0, prepared=p)
        loss, info = dit_loss(tr, task, b, 0, prepared=p)
        assert float(info["motion_loss"]) > 0
        assert float(loss) == pytest.approx(float(base) + 2.0 * float(info["motion_loss"]))
        pv = prepare(tr, task, b, seed=3, validation=True)
        val, vinfo = dit_loss(tr, task, b, 0, prepared=pv, validation=True)
        val_plain, _ = dit_loss(plain_tr, task, b, 0, prepared=pv, validation=True)
        assert "motion_loss" not in vinfo and float(val) == float(val_plain)


def test_the_step_rows_log_the_motion_loss_beside_the_total(tmp_path):
    cfg = tiny_config(dit_steps=3, motion_loss_weight=1.0, dit_buckets=[Bucket(64, 48, 9)])
    run(cfg, tmp_path, "vae", 5, False, "cpu")
    run(cfg, tmp_path, "dit", 5, True, "cpu")
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r.get("event") == "step" and r.get("stage") == "dit"]
    assert len(steps) == 3
    assert all(0 < r["motion_loss"] < r["loss"] for r in steps)


@pytest.mark.parametrize("task", ["t2v", "i2v", "carry", "refs"])
def test_a_batch_in_slices_has_the_whole_batchs_gradient(tmp_path, task):
    """micro_tokens: a small machine trains at a large batch, the same step up to rounding
    (uneven slices too: 5 items as 2 + 2 + 1)."""
    from engine.train import Trainer
    from engine.train_steps import dit_loss, prepare

    b = Bucket(64, 48, 9)
    tr = Trainer(
        tiny_config(dit_buckets=[b], motion_loss_weight=1.0, tokens_per_batch=36 * 5),
        tmp_path / "run",
        "cpu",
    )
    with torch.no_grad():  # a transformer that predicts something (adaLN-Zero starts at zero)
        for p in tr.dit.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    p = prepare(tr, task, b, seed=3)
    assert p.z.shape[0] == 5

    def step(micro: int):
        tr.dit.zero_grad(set_to_none=True)
        loss, info = dit_loss(tr, task, b, 7, prepared=p, micro_tokens=micro)
        if not info.get("backward_done"):
            loss.backward()
        grads = [q.grad.clone() for q in tr.dit.parameters() if q.grad is not None]
        return float(loss.detach()), float(info["motion_loss"]), grads, info

    whole, whole_motion, g_whole, info = step(0)
    assert "backward_done" not in info
    for micro in (1, 2 * info["seq"]):  # one item a slice; two
        loss, motion, grads, sliced = step(micro)
        assert sliced["backward_done"] and sliced["batch"] == 5
        assert loss == pytest.approx(whole, rel=1e-5)
        assert motion == pytest.approx(whole_motion, rel=1e-5)
        assert len(grads) == len(g_whole)
        for a, c in zip(grads, g_whole, strict=True):
            torch.testing.assert_close(a, c, rtol=1e-4, atol=1e-7)


def test_a_run_trains_with_the_batch_in_slices(tmp_path):
    cfg = tiny_config(dit_steps=3, micro_tokens=50, motion_loss_weight=1.0)  # 2 items a slice
    run(cfg, tmp_path, "vae", 5, False, "cpu")
    run(cfg, tmp_path, "dit", 5, True, "cpu")
    rows = [json.loads(x) for x in (tmp_path / "training_log.jsonl").read_text().splitlines()]
    steps = [r for r in rows if r.get("event") == "step" and r.get("stage") == "dit"]
    assert len(steps) == 3 and all(0 < r["loss"] < 10 and r["grad_norm"] > 0 for r in steps)
    recipe = json.loads((tmp_path / "train_config.json").read_text())
    assert recipe["micro_tokens"] == 50  # the run's recipe says how it went through its batches
