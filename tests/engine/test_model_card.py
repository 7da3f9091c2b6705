"""The model card is written from the model folder and eval JSON files, never by hand."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.cli import main as engine_main


def test_card_reports_scores_against_targets_and_the_learning_curve(tiny_model_dir, tmp_path):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    log = model / "training_log.jsonl"
    log.write_text(
        "\n".join(
            json.dumps({"event": "val", "stage": "dit", "step": s, "val_loss": v})
            for s, v in ((100, 0.9), (200, 0.7), (300, 0.62), (300, 0.61))
        )
    )
    early = {
        "colour_accuracy": 0.5,
        "shape_accuracy": 0.2,
        "i2v_psnr_db": 20.0,
        "dit_step": 100,
        "dit_samples": 1500,
        "context_guidance": 1.0,
    }
    late = {
        "colour_accuracy": 0.95,
        "shape_accuracy": 0.6,
        "i2v_psnr_db": 29.5,
        "seconds_per_clip": 7.5,
        "consistency_with_context": 0.8,
        "consistency_without_context": 0.4,
        "consistency_ground_truth": 0.9,
        "i2v_later_error": 10.0,
        "i2v_later_error_without": 25.0,
        "i2v_follow": 2.5,
        "device": "cpu",
        "clips": 38,
        "quick": True,
        "guidance": 4.0,
        "context_guidance": 2.0,
        "guidance_min_sigma": 0.45,
        "dit_step": 300,
        "dit_samples": 4500,
        "detector": 2,
        "case_set": "held-out",
        "kinds": None,
    }
    files = []
    for name, scores in (("early", early), ("late", late)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", *map(str, files)]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "| colour_accuracy | 95.0 % | met (goal >= 90.0 %) |" in card
    assert "| shape_accuracy | 60.0 % | short by 25.0 % (goal >= 85.0 %) |" in card
    assert "| seconds_per_clip | 7.50 s | met (goal <= 20.00 s) |" in card
    # step (sampled with other guidance, guided at every step as before guidance_min_sigma,
    # scored by an older detector than the headline), clips seen, scores
    row = "| 100 (context guidance 1.0, guidance min sigma 0.0, detector 1) | 1,500 | 50.0 % |"
    assert row in card
    assert "| 300 | 4,500 | 95.0 % | 60.0 % |" in card
    assert "A row marked with a detector was read by that earlier version" in card
    assert "| 300 | 0.6100 |" in card  # validation curve from the log
    assert "0.6200" not in card  # a step validated twice counts once, with its latest value
    assert "80.0 % with carry-over/references against 40.0 % without" in card
    assert (
        "10.0 levels with it against 25.0 levels without (the same prompt and seed): 2.50x" in card
    )
    assert "| i2v_follow | 2.50x |" in card
    assert "Falls short on: shape_accuracy" in card
    # how, not a score row
    assert "--guidance 4.0 --context-guidance 2.0 --guidance-min-sigma 0.45 --json`" in card
    assert "| guidance |" not in card and "| detector |" not in card
    assert "| guidance_min_sigma |" not in card
    assert "| case_set |" not in card and "| kinds |" not in card and "38 held-out clips" in card


def test_card_shows_the_autoencoders_ceiling_beside_each_score(tiny_model_dir, tmp_path):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    scores = {
        "colour_accuracy": 0.1,
        "shape_accuracy": 0.0,
        "i2v_psnr_db": 22.2,
        "consistency_with_context": 0.3,
        "consistency_without_context": 0.2,
        "consistency_ground_truth": 0.8,
        "pattern_shown_with_context": 0.25,
        "pattern_shown_without_context": 0.125,
        "consistency_continuing_with_context": 0.5,
        "consistency_continuing_without_context": 0.25,
        "consistency_cut_with_context": 0.1,
        "consistency_cut_without_context": 0.15,
        "context_pairs": {
            "all": {"stories": 12, "mean_gain": 0.1, "better": 9, "worse": 3, "p": 0.146},
            "continuing": {"stories": 6, "mean_gain": 0.25, "better": 6, "worse": 0, "p": 0.031},
            "cut": {"stories": 6, "mean_gain": -0.05, "better": 3, "worse": 3, "p": 1.0},
        },
        "colour_misses": {
            "cases": 84,
            "missed": 23,
            "nothing_found": 4,
            "object_colour_as_background": 0,
            "background_colour_as_object": 6,
            "near_colour": 5,
            "far_colour": 8,
            "by_colour": {
                "red": {"cases": 7, "drawn": 5, "instead": {"orange": 2}},
                "green": {"cases": 6, "drawn": 2, "instead": {"lime": 3, "nothing": 1}},
                "blue": {"cases": 5, "drawn": 5, "instead": {}},
            },
        },
        "direction_misses": {
            "text_to_video": {
                "cases": 48,
                "missed": 40,
                "not_found": 6,
                "still": 23,
                "opposite": 4,
                "across": 7,
                "by_direction": {
                    "left": {"cases": 12, "moved": 3},
                    "right": {"cases": 12, "moved": 4},
                    "up": {"cases": 12, "moved": 0},
                    "down": {"cases": 12, "moved": 1},
                },
            },
            "image_to_video": {
                "cases": 12,
                "missed": 0,
                "not_found": 0,
                "still": 0,
                "opposite": 0,
                "across": 0,
            },
        },
        "dit_step": 300,
        "autoencoder": {
            "colour_accuracy": 0.5,
            "shape_accuracy": 0.25,
            "i2v_psnr_db": 22.2,
            "consistency_with_context": 0.45,
            "pattern_shown_with_context": 0.5,
        },
    }
    (tmp_path / "e.json").write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "e.json")]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "| score | value | autoencoder alone | target |" in card
    assert "| colour_accuracy | 10.0 % | 50.0 % | short by 80.0 % (goal >= 90.0 %) |" in card
    assert "| seconds_per_clip" not in card  # not measured: no row
    assert "autoencoder alone falls short on colour_accuracy, shape_accuracy, i2v_psnr_db" in card
    assert "(ground truth 80.0 %; the ground truth through the autoencoder alone 45.0 %)" in card
    assert (
        "shows a pattern at all in 25.0 % of the frames scored with context and 12.5 % without "
        "(the ground truth through the autoencoder alone: 50.0 %)" in card
    )
    assert (
        "By kind of scene: a scene that goes on 50.0 % with against 25.0 % without; a cut "
        "10.0 % with against 15.0 % without" in card
    )
    assert (
        "the context raised it in 9 and lowered it in 3 of 12 (sign test p 0.15); in scenes that "
        "go on raised it in 6 and lowered it in 0 of 6 (sign test p 0.03); after cuts raised it "
        "in 3 and lowered it in 3 of 6 (sign test p 1.00)." in card
    )
    assert "| context_pairs" not in card and "| colour_misses" not in card
    assert (
        "- Where the object's colour is missed (23 of 84 clips): a near colour (a shade off) in 5; "
        "a far colour in 8; no object found in 4; the background's colour drawn as the object "
        "in 6." in card
    )
    assert (
        "- By the colour asked for, the object comes out in it (in brackets what its misses drew "
        "most often): red 5 of 7 (orange 2), green 2 of 6 (lime 3), blue 5 of 5." in card
    )
    assert (
        "- Where text-to-video misses the direction of the move (40 of 48 clips): the object "
        "held still in 23; moved the opposite way in 4; moved at a right angle in 7; no object in "
        "the prompt's colour to follow in 6." in card
    )
    assert (
        "- By the direction asked for, text-to-video moves the object that way: left 3 of 12, "
        "right 4 of 12, up 0 of 12, down 1 of 12." in card
    )
    assert "Where image-to-video misses" not in card  # it missed none: no line
    assert "By the direction asked for, image-to-video" not in card  # not counted: no line
    # shape: the autoencoder (25 %) is further below the goal than the model below it
    assert "What closes the gaps: a better autoencoder first (above)" in card
    # once the model is the larger gap everywhere, the card says to train the transformer first
    scores["autoencoder"] = {"colour_accuracy": 0.8, "shape_accuracy": 0.75, "i2v_psnr_db": 28.5}
    (tmp_path / "e.json").write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "e.json")]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "What closes the gaps: more transformer samples first" in card


def test_of_two_full_evaluations_of_a_step_the_newer_detectors_heads_the_card(
    tiny_model_dir, tmp_path
):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    old = {"shape_accuracy": 0.15, "dit_step": 400, "clips": 152, "detector": 2}
    new = {"shape_accuracy": 0.19, "dit_step": 400, "clips": 152, "detector": 3}
    files = [tmp_path / "new.json", tmp_path / "old.json"]
    for f, scores in zip(files, (new, old), strict=True):
        f.write_text(json.dumps(scores))
    for order in (files, files[::-1]):
        assert engine_main(["card", "--model", str(model), "--eval", *map(str, order)]) == 0
        card = (model / "MODEL_CARD.md").read_text()
        assert "| shape_accuracy | 19.0 % |" in card
        assert "| 400 (detector 2) | - | - | 15.0 % |" in card


def test_card_says_how_the_autoencoder_weighs_objects_and_where_the_latents_changed(
    tiny_model_dir, tmp_path
):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    (model / "train_config.json").write_text(json.dumps({"vae_object_weight": 20.0}))
    (model / "training_log.jsonl").write_text(
        "\n".join(
            json.dumps(r)
            for r in (
                {"event": "val", "stage": "dit", "step": 100, "val_loss": 0.2},
                {"event": "rebase", "stage": "dit", "step": 150, "vae_step": 2200},
                {"event": "val", "stage": "dit", "step": 200, "val_loss": 0.3},
            )
        )
    )
    assert engine_main(["card", "--model", str(model)]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "weighs the world's objects and a 2-pixel outline 21x" in card
    assert (
        "At step 150 the transformer went on with a retrained autoencoder (its step 2200)" in card
    )
    (model / "train_config.json").write_text(json.dumps({"vae_object_weight": 0.0}))
    (model / "training_log.jsonl").write_text("")
    assert engine_main(["card", "--model", str(model)]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "outline" not in card and "retrained autoencoder" not in card


def test_a_full_evaluation_heads_the_card_over_a_quick_one_of_the_same_step(
    tiny_model_dir, tmp_path
):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    quick = {"colour_accuracy": 0.25, "dit_step": 400, "quick": True, "clips": 14}
    full = {"colour_accuracy": 0.3, "dit_step": 400, "quick": False, "clips": 152}
    files = [tmp_path / "q.json", tmp_path / "f.json"]
    for f, scores in zip(files, (quick, full), strict=True):
        f.write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", *map(str, files)]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "| colour_accuracy | 30.0 % |" in card and "152 held-out clips" in card
    assert "| 400 | - | 25.0 % |" in card and "| 400 (full) | - | 30.0 % |" in card
    # nor does an evaluation of some kinds or of another case set, which the card names as such
    some = {"colour_accuracy": 0.9, "dit_step": 400, "clips": 48, "kinds": "still,motion"}
    tuning = {"colour_accuracy": 0.8, "dit_step": 400, "clips": 152, "case_set": "tuning"}
    check = {
        "colour_accuracy": 0.7,
        "dit_step": 400,
        "clips": 152,
        "case_set": "check",
        "quick": False,
    }
    files += [tmp_path / "k.json", tmp_path / "t.json", tmp_path / "c.json"]
    files[2].write_text(json.dumps(some))
    files[3].write_text(json.dumps(tuning))
    files[4].write_text(json.dumps(check))
    assert engine_main(["card", "--model", str(model), "--eval", *map(str, files)]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "| colour_accuracy | 30.0 % |" in card and "152 held-out clips" in card
    assert "| 400 (only still,motion) | - | 90.0 % |" in card
    assert "| 400 (tuning set) | - | 80.0 % |" in card
    assert "| 400 (full, check set) | - | 70.0 % |" in card  # one parenthesis
    files = [tmp_path / "t.json"]
    assert engine_main(["card", "--model", str(model), "--eval", *map(str, files)]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "--tuning --json` on ?, 152 tuning-set clips" in card
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "c.json")]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "--case-set check --json` on ?, 152 check-set clips" in card


@pytest.mark.parametrize(
    ("totals", "sentence"),
    [
        (  # a decoder tuned for an encoder since retrained
            {"vae_seconds": 1800.0, "decoder_seconds": 600.0, "retired_decoder_seconds": 1200.0},
            "2.00 hours in all (autoencoder 30 min, transformer 60 min, decoder fine-tuning 10 "
            "min, and 20 min on a decoder fine-tuned for an earlier encoder, no longer in these "
            "weights).",
        ),
        (  # the autoencoder a transformer was rebased from
            {"vae_seconds": 1200.0, "retired_vae_seconds": 2400.0},
            "2.00 hours in all (autoencoder 20 min, transformer 60 min, and 40 min on the "
            "autoencoder of another latent space, which the transformer was rebased from, no "
            "longer in these weights).",
        ),
    ],
)
def test_compute_counts_retired_parts_apart_from_the_weights(
    tiny_model_dir, tmp_path, totals, sentence
):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    cfg = json.loads((model / "config.json").read_text())
    cfg["training"]["totals"] = {**totals, "dit_seconds": 3600.0, "devices": ["cpu"]}
    (model / "config.json").write_text(json.dumps(cfg))
    assert engine_main(["card", "--model", str(model)]) == 0
    assert sentence in (model / "MODEL_CARD.md").read_text()


def test_compute_says_how_long_each_device_trained(tiny_model_dir, tmp_path):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    cfg = json.loads((model / "config.json").read_text())
    totals = {"vae_seconds": 7200.0, "dit_seconds": 7800.0, "devices": ["cpu", "NVIDIA H200"]}
    cfg["training"]["totals"] = {**totals, "device_seconds": {"cpu": 14400.0, "NVIDIA H200": 600}}
    (model / "config.json").write_text(json.dumps(cfg))
    assert engine_main(["card", "--model", str(model)]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "- Devices: cpu 4.0 h, NVIDIA H200 10 min; 4.17 hours in all" in card
    # a record whose devices were timed for only part of its hours names them, no split
    cfg["training"]["totals"] = {**totals, "device_seconds": {"NVIDIA H200": 600}}
    (model / "config.json").write_text(json.dumps(cfg))
    assert engine_main(["card", "--model", str(model)]) == 0
    assert "- Devices: cpu, NVIDIA H200; 4.17 hours" in (model / "MODEL_CARD.md").read_text()


def test_card_shows_the_case_by_case_comparison_with_the_previous_model(tiny_model_dir, tmp_path):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    paired = {
        "colour_accuracy": {
            "cases": 84,
            "this": 0.45,
            "against": 0.38,
            "better": 12,
            "worse": 6,
            "p": 0.238,
        },
        "flicker": {"cases": 84, "this": 2.1, "against": 2.7, "better": 50, "worse": 34, "p": 0.1},
        "i2v_psnr_db": {
            "cases": 12,
            "this": 27.5,
            "against": 26.6,
            "better": 12,
            "worse": 0,
            "p": 4.9e-4,
        },
    }
    scores = {
        "colour_accuracy": 0.45,
        "dit_step": 300,
        "against": {"clips": "runs/old", "weights_sha256": "ab" * 32, "scores": paired},
    }
    (tmp_path / "e.json").write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "e.json")]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "generated by the model with weights sha256 `abababababababab...`" in card
    assert "| colour_accuracy | 45.0 % | 38.0 % | 12 | 6 | 84 | 0.238 |" in card
    assert "| flicker | 2.10 | 2.70 | 50 | 34 | 84 | 0.100 |" in card
    assert "| i2v_psnr_db | 27.50 dB | 26.60 dB | 12 | 0 | 12 | < 0.001 |" in card
    scores["against"]["dit_step"] = 250
    (tmp_path / "e.json").write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "e.json")]) == 0
    assert "generated by transformer step 250" in (model / "MODEL_CARD.md").read_text()
    scores["against"]["dit_step"] = 300  # the same transformer, other weights (a tuned decoder)
    (tmp_path / "e.json").write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "e.json")]) == 0
    assert (
        "generated by the earlier weights (sha256 `abababababababab...`) of the same transformer "
        "step 300" in (model / "MODEL_CARD.md").read_text()
    )
    # scored on latents an earlier run kept (a decoder tuned since): the card says so
    scores["decoded_from"] = "runs/kept"
    (tmp_path / "e.json").write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "e.json")]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert "--decode runs/kept" in card and "decoded by this model's decoder" in card
    # the very same weights, sampled otherwise (clips kept before guidance_min_sigma existed)
    del scores["decoded_from"]
    scores.update(weights_sha256="ab" * 32, guidance=4.0, guidance_min_sigma=0.45, steps=12)
    scores["against"]["sampling"] = {"guidance": 4.0, "steps": 12, "guidance_min_sigma": None}
    (tmp_path / "e.json").write_text(json.dumps(scores))
    assert engine_main(["card", "--model", str(model), "--eval", str(tmp_path / "e.json")]) == 0
    card = (model / "MODEL_CARD.md").read_text()
    assert (
        "generated by these very weights (sha256 `abababababababab...`) sampled with guidance "
        "min sigma 0.0 (`eval --against`)" in card
    )
    assert "### Case by case against the previous sampling" in card


def test_card_says_when_the_transformer_reads_the_prompts_word_embeddings(tiny_model_dir, tmp_path):
    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    assert engine_main(["card", "--model", str(model)]) == 0
    assert "lexical_text" not in (model / "MODEL_CARD.md").read_text()
    config = json.loads((model / "config.json").read_text())
    config["dit"]["lexical_text"] = True
    (model / "config.json").write_text(json.dumps(config))
    assert engine_main(["card", "--model", str(model)]) == 0
    assert "its input word embeddings too" in (model / "MODEL_CARD.md").read_text()
