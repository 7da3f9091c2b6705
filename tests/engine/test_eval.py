"""The evaluation scores ground truth near perfect and random noise near chance."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.data import detector as D
from engine.eval import build_cases, ground_truth_clips, noise_clips, score_clips
from engine.media_io import read_image

KEYS = {
    "colour_accuracy",
    "shape_accuracy",
    "background_accuracy",
    "direction_accuracy",
    "camera_accuracy",
    "bounce_accuracy",
    "paraphrase_accuracy",
    "i2v_psnr_db",
    "i2v_follow",
    "consistency_with_context",
    "consistency_without_context",
    "consistency_ground_truth",
    "flicker",
    "seconds_per_clip",
}
ACCURACIES = [
    "colour_accuracy",
    "shape_accuracy",
    "background_accuracy",
    "direction_accuracy",
    "camera_accuracy",
    "bounce_accuracy",
    "paraphrase_accuracy",
    "count_accuracy",
    "relation_accuracy",
    "i2v_direction_accuracy",
]


@pytest.fixture(scope="module")
def cases():
    from engine.eval import first_of_each_kind

    # four of each kind of the full set (about as many as a quick set would need to be fair)
    return first_of_each_kind(build_cases(256, 144, 12.0, 25, quick=False), 4)


@pytest.mark.parametrize("quick", [True, False])
def test_the_sets_are_fixed_and_cover_every_kind(quick):
    cases = build_cases(256, 144, 12.0, 25, quick=quick)
    again = build_cases(256, 144, 12.0, 25, quick=quick)
    assert [c.prompt for c in cases] == [c.prompt for c in again]
    assert 12 <= len(cases) <= 16 if quick else len(cases) >= 150
    kinds = {c.kind for c in cases}
    assert kinds >= {
        "still",
        "motion",
        "bounce",
        "camera",
        "i2v",
        "i2v_without",
        "paraphrase",
        "story_with",
        "story_without",
        "two_objects",
    }
    assert all(c.image is not None for c in cases if c.kind == "i2v")
    twins = [c for c in cases if c.kind == "i2v_without"]
    assert [c.spec for c in twins] == [c.spec for c in cases if c.kind == "i2v"]
    assert all(c.image is None for c in twins)
    assert all(c.previous is not None and c.references for c in cases if c.kind == "story_with")
    assert all(c.previous is None and not c.references for c in cases if c.kind == "story_without")


@pytest.mark.parametrize("case_set", ["tuning", "check"])
def test_the_other_sets_are_other_cases_of_the_same_kinds(case_set):
    held_out = build_cases(256, 144, 12.0, 25, quick=False)
    other = build_cases(256, 144, 12.0, 25, quick=False, case_set=case_set)
    assert [c.kind for c in other] == [c.kind for c in held_out]
    assert not {c.seed for c in other} & {c.seed for c in held_out}
    assert all(c.name.startswith(f"{case_set}-") for c in other)  # kept clips cannot be mixed up
    assert not {c.prompt for c in other if c.kind == "still"} & {
        c.prompt for c in held_out if c.kind == "still"
    }
    s = score_clips(other, ground_truth_clips(other), seconds_per_clip=0.0)
    assert s["colour_accuracy"] >= 0.98 and s["direction_accuracy"] >= 0.95


def test_the_check_set_balances_directions_and_the_others_stay_as_they_were():
    from collections import Counter

    from engine.data.eval_cases import CASE_SETS

    check = build_cases(256, 144, 12.0, 25, quick=False, case_set="check")
    for kind, n in (("motion", 32), ("paraphrase", 16), ("i2v", 12)):
        moves = Counter(c.spec.direction for c in check if c.kind == kind)
        assert moves == {d: n // 4 for d in ("left", "right", "up", "down")}, (kind, moves)
    assert {c.name for c in check}.isdisjoint(
        c.name for c in build_cases(256, 144, 12.0, 25, quick=False, case_set="tuning")
    )
    # the held-out set draws its directions (kept clips of it stay valid: version 1)
    held_out = build_cases(256, 144, 12.0, 25, quick=False)
    ups = sum(c.spec.direction == "up" for c in held_out if c.kind == "motion")
    assert ups == 15 and CASE_SETS["held-out"].version == 1
    with pytest.raises(ValueError, match="no case set"):
        build_cases(256, 144, 12.0, 25, case_set="heldout")


def test_ground_truth_scores_near_perfect(cases):
    s = score_clips(cases, ground_truth_clips(cases), seconds_per_clip=0.0)
    assert KEYS <= set(s)
    for k in ACCURACIES:
        assert s[k] >= 0.98, (k, s[k])
    assert s["i2v_psnr_db"] >= 40
    assert s["flicker"] < 0.5
    assert s["consistency_ground_truth"] >= 0.7
    assert s["consistency_with_context"] == pytest.approx(s["consistency_ground_truth"])
    assert s["pattern_shown_with_context"] == s["pattern_shown_without_context"] == 1.0


def test_consistency_is_also_split_by_continuing_scenes_and_cuts(cases):
    """Each story case counts once in its split: the truth with context and noise without
    shows the same gap in a continuing scene and after a cut."""
    story = [c for c in cases if c.kind in ("story_with", "story_without")]
    assert {c.spec.continues for c in story} == {True, False}  # the fixture has both
    clips = [
        t if c.kind == "story_with" else n
        for c, t, n in zip(story, ground_truth_clips(story), noise_clips(story), strict=True)
    ]
    s = score_clips(story, clips)
    for split in ("continuing", "cut"):
        with_, without = (
            s[f"consistency_{split}_with_context"],
            s[f"consistency_{split}_without_context"],
        )
        assert with_ >= 0.7 and without < 0.3, (split, with_, without)
    n_cont = sum(c.spec.continues for c in story if c.kind == "story_with")
    n_cut = len(story) // 2 - n_cont
    whole = (
        n_cont * s["consistency_continuing_with_context"]
        + n_cut * s["consistency_cut_with_context"]
    ) / (n_cont + n_cut)
    assert s["consistency_with_context"] == pytest.approx(whole)
    # story by story: the truth with context beats noise without in every story, and the other
    # way round loses in every one
    from engine.eval import per_case_scores
    from engine.eval_paired import context_pairs

    pairs = context_pairs(story, per_case_scores(story, clips))
    assert pairs["all"]["stories"] == len(story) // 2
    assert pairs["continuing"]["stories"] == n_cont and pairs["cut"]["stories"] == n_cut
    assert pairs["all"]["better"] == len(story) // 2 and pairs["all"]["worse"] == 0
    swapped = [
        n if c.kind == "story_with" else t
        for c, t, n in zip(story, ground_truth_clips(story), noise_clips(story), strict=True)
    ]
    worse = context_pairs(story, per_case_scores(story, swapped))["all"]
    assert worse["worse"] == len(story) // 2 and worse["mean_gain"] < 0
    assert context_pairs(story[:1], per_case_scores(story[:1], clips[:1])) == {}  # no twin


def test_the_start_image_score_measures_what_the_image_adds(cases):
    truth = ground_truth_clips(cases)
    noise = noise_clips(cases)
    s = score_clips(cases, truth)
    assert s["i2v_later_error"] == 0 and s["i2v_later_error_without"] == 0
    assert s["i2v_follow"] is None  # nothing to improve on
    # the truth with the image and noise without: the image brings the clip far closer
    mixed = [
        n if c.kind == "i2v_without" else t for c, t, n in zip(cases, truth, noise, strict=True)
    ]
    assert score_clips(cases, mixed)["i2v_follow"] is None  # a perfect clip: no ratio
    near = [
        n if c.kind == "i2v_without" else np.clip(t.astype(int) + 8, 0, 255).astype(np.uint8)
        for c, t, n in zip(cases, truth, noise, strict=True)
    ]
    assert score_clips(cases, near)["i2v_follow"] > 5
    # noise either way: the image makes no difference
    assert score_clips(cases, noise)["i2v_follow"] == pytest.approx(1.0, abs=0.05)


def test_random_noise_scores_near_chance(cases):
    s = score_clips(cases, noise_clips(cases))
    for k in ACCURACIES:
        assert s[k] <= 0.35, (k, s[k])
    assert s["i2v_psnr_db"] < 12
    assert s["flicker"] > 50
    assert s["consistency_with_context"] < 0.3
    assert s["pattern_shown_with_context"] == 0.0  # no character is found in noise


def test_a_character_drawn_plain_is_found_but_shows_no_pattern(cases):
    """The story character recoloured to its main colour alone: found in every frame, with the
    layout half of the similarity, and no pattern."""
    from dataclasses import replace

    from engine.data.world_render import render_uint8
    from engine.eval import case_scores

    story = [c for c in cases if c.kind == "story_with"]
    assert story
    for c in story:
        look = c.spec.looks[0]
        plain = replace(look, pattern_colours=(look.rgb(),) * len(look.pattern_colours))
        clip = render_uint8(replace(c.spec, looks=[plain, *c.spec.looks[1:]]))
        s = case_scores(c, clip)
        assert s["pattern_shown_with_context"] == 0.0
        assert 0.2 < s["consistency_with_context"] < 0.5  # layout only
        assert D.shows_pattern(D.object_crop(c.reference_crop_of, look.colour))


def test_clips_that_do_not_match_the_cases_are_refused(cases):
    with pytest.raises(ValueError, match="cases but"):
        score_clips(cases, ground_truth_clips(cases[:2]))
    with pytest.raises(ValueError, match="expected"):
        score_clips(cases[:1], [c[:, :64, :64] for c in ground_truth_clips(cases[:1])])


def test_a_real_engine_generates_the_cases_and_is_scored(tiny_engine):
    from engine.eval import first_of_each_kind, generate_clips

    cases = first_of_each_kind(build_cases(64, 48, 8.0, 5, quick=True), 1)
    cases = [c for c in cases if c.kind in ("i2v", "story_with", "camera")]
    clips, seconds = generate_clips(tiny_engine, cases, sampling={"steps": 2})
    assert [c.shape for c in clips] == [(5, 48, 64, 3)] * len(cases)
    s = score_clips(cases, clips, seconds)
    assert (
        s["seconds_per_clip"] > 0
        and s["i2v_psnr_db"] is not None
        and s["camera_accuracy"] is not None
    )
    assert s["colour_accuracy"] is not None  # the i2v case is scored for colour too
    # the autoencoder's ceiling: a start frame reaches the clip through the autoencoder alone
    from engine.eval import CEILING_KEYS, autoencoder_ceiling

    ceiling = autoencoder_ceiling(tiny_engine, cases)
    assert tuple(ceiling) == CEILING_KEYS
    assert ceiling["i2v_psnr_db"] == pytest.approx(s["i2v_psnr_db"], abs=0.05)
    # sampling overrides reach the engine
    unguided, _ = generate_clips(tiny_engine, cases[:1], sampling={"steps": 2, "guidance": 1.0})
    guided, _ = generate_clips(tiny_engine, cases[:1], sampling={"steps": 2, "guidance": 8.0})
    assert not np.array_equal(unguided[0], guided[0])


def test_eval_cli_writes_one_json_object(tiny_model_dir, tmp_path, capsys):
    from engine.eval import main

    out = tmp_path / "scores.json"
    assert (
        main(
            [
                "--model",
                str(tiny_model_dir),
                "--quick",
                "--json",
                "--device",
                "cpu",
                "--limit",
                "1",
                "--guidance",
                "2.5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert KEYS <= set(printed) and printed["clips"] == 10  # one case of each kind
    assert printed["autoencoder"]["colour_accuracy"] is not None
    sampling = json.loads((tiny_model_dir / "config.json").read_text())["sampling"]
    assert printed["guidance"] == 2.5  # what the clips were generated with, on the record
    assert printed["steps"] == sampling["steps"]
    assert printed["context_guidance"] == sampling.get("context_guidance")
    assert printed["detector"] == D.VERSION  # which detector read the clips, on the record
    misses = printed["colour_misses"]  # still, motion, i2v and paraphrase: one case each
    assert misses["cases"] == 4
    assert misses["missed"] == round(4 * (1 - printed["colour_accuracy"]))
    moves = printed["direction_misses"]  # motion and paraphrase; i2v apart
    assert moves["text_to_video"]["cases"] == 2 and moves["image_to_video"]["cases"] == 1
    assert moves["image_to_video"]["missed"] == round(1 - printed["i2v_direction_accuracy"])
    assert json.loads(out.read_text()) == printed


def test_saved_clips_score_the_same_without_generating(tiny_model_dir, tmp_path, capsys):
    from engine.eval import main
    from engine.eval_clips import SHEET

    common = ["--model", str(tiny_model_dir), "--quick", "--json", "--device", "cpu"]
    kept = tmp_path / "kept"
    args = [*common, "--limit", "1", "--steps", "2", "--guidance", "2.5"]
    assert main([*args, "--save-clips", str(kept)]) == 0
    first = json.loads(capsys.readouterr().out)
    sheet = read_image(kept / SHEET)
    assert sheet.shape[0] > 10 * 48 and sheet.shape[1] > 6 * 64  # a row per kind, 6 frames each
    # scored again from the kept clips: the same scores and the sampling they were made with
    assert main([*common, "--limit", "1", "--clips", str(kept)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (
        again == first
        and again["case_set"] == "held-out"
        and again["steps"] == 2
        and again["guidance"] == 2.5
    )
    # the autoencoder's per-case scores were kept with the clips, and rescoring reuses them
    meta = json.loads((kept / "clips.json").read_text())
    cached = meta["autoencoder"]["cases"]
    assert meta["autoencoder"]["detector"] == D.VERSION
    ceiling_kinds = ("still", "motion", "bounce", "camera", "i2v", "paraphrase", "two_objects")
    assert sorted(cached) == sorted([*(f"{k}-00" for k in ceiling_kinds), "story-00-with"])
    cached["still-00"]["colour_accuracy"] = 1.0 - cached["still-00"]["colour_accuracy"]
    (kept / "clips.json").write_text(json.dumps(meta))
    assert main([*common, "--limit", "1", "--clips", str(kept)]) == 0
    moved = json.loads(capsys.readouterr().out)["autoencoder"]["colour_accuracy"]
    assert abs(moved - first["autoencoder"]["colour_accuracy"]) == pytest.approx(0.25)
    # other sampling of the same model, against these clips: their kept ceiling is reused, and
    # kept with the new clips too
    swept = tmp_path / "swept"
    sweep = [*common, "--limit", "1", "--steps", "2", "--save-clips", str(swept)]
    assert main([*sweep, "--against", str(kept)]) == 0
    assert json.loads(capsys.readouterr().out)["autoencoder"]["colour_accuracy"] == moved
    assert json.loads((swept / "clips.json").read_text())["autoencoder"]["cases"] == cached
    # read by another detector version: computed again (and kept again)
    meta["autoencoder"]["detector"] = -1
    (kept / "clips.json").write_text(json.dumps(meta))
    assert main([*common, "--limit", "1", "--clips", str(kept)]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert json.loads((kept / "clips.json").read_text())["autoencoder"]["detector"] == D.VERSION
    # kept before a ceiling score existed (no "keys"): computed again, with that score
    meta = json.loads((kept / "clips.json").read_text())
    del meta["autoencoder"]["keys"]
    for case in meta["autoencoder"]["cases"].values():
        case.pop("pattern_shown_with_context", None)
    (kept / "clips.json").write_text(json.dumps(meta))
    assert main([*common, "--limit", "1", "--clips", str(kept)]) == 0
    assert json.loads(capsys.readouterr().out) == first
    kept_story = json.loads((kept / "clips.json").read_text())["autoencoder"]["cases"]
    assert "pattern_shown_with_context" in kept_story["story-00-with"]
    # compared case by case with clips kept elsewhere (here: the same ones, so every case ties)
    assert main([*common, "--limit", "1", "--clips", str(kept), "--against", str(kept)]) == 0
    paired = json.loads(capsys.readouterr().out)["against"]
    kept_meta = json.loads((kept / "clips.json").read_text())
    assert paired["weights_sha256"] == kept_meta["weights_sha256"] is not None
    made_by = json.loads((tiny_model_dir / "config.json").read_text()).get("training", {})
    assert paired["dit_step"] == kept_meta["dit_step"] == made_by.get("dit_steps_done")
    assert paired["scores"] and all(
        r["better"] == r["worse"] == 0 and r["p"] == 1.0 for r in paired["scores"].values()
    )
    assert paired["colour_misses"] == first["colour_misses"]  # the same clips: the same misses
    assert paired["direction_misses"] == first["direction_misses"]
    # some kinds only, scored from the same clips: their cases, their scores, the same values
    assert main([*common, "--limit", "1", "--clips", str(kept), "--kinds", "story,i2v"]) == 0
    sub = json.loads(capsys.readouterr().out)
    assert sub["clips"] == 4 and sub["kinds"] == "story,i2v"  # each with its twin
    for key in ("consistency_with_context", "consistency_without_context", "i2v_psnr_db"):
        assert sub[key] == first[key] is not None
    assert sub["camera_accuracy"] is None and sub["autoencoder"]["camera_accuracy"] is None
    assert sub["autoencoder"]["i2v_psnr_db"] == first["autoencoder"]["i2v_psnr_db"]
    table = [a for a in common if a != "--json"]
    assert main([*table, "--limit", "1", "--clips", str(kept), "--against", str(kept)]) == 0
    assert "case by case against" in capsys.readouterr().out
    # a folder without those clips is refused before anything is generated or scored
    assert main([*args, "--against", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    # a set the clips were not made for is refused in one line, and so is another model's clips
    assert main([*common, "--clips", str(kept)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--limit" in err and "\n" not in err
    # and so are clips of another case set, or of another version of this one (the same names
    # would be other scenes); clips kept before sets were recorded are version 1
    assert main([*common, "--limit", "1", "--tuning", "--clips", str(kept)]) == 2
    assert "version 1 of the held-out set" in capsys.readouterr().err
    assert main([*common, "--limit", "1", "--case-set", "check", "--against", str(kept)]) == 2
    assert "not version 1 of the check set" in capsys.readouterr().err
    assert main([*common, "--tuning", "--case-set", "check", "--clips", str(kept)]) == 2
    assert "not both" in capsys.readouterr().err
    meta = json.loads((kept / "clips.json").read_text())
    assert (meta["case_set"], meta["case_set_version"]) == ("held-out", 1)
    (kept / "clips.json").write_text(json.dumps({**meta, "case_set_version": 2}))
    assert main([*common, "--limit", "1", "--clips", str(kept)]) == 2
    err = capsys.readouterr().err.strip()
    assert "version 2 of the held-out set" in err and "\n" not in err
    old = {k: v for k, v in meta.items() if k not in ("case_set", "case_set_version")}
    (kept / "clips.json").write_text(json.dumps(old))
    assert main([*common, "--limit", "1", "--clips", str(kept)]) == 0
    assert json.loads(capsys.readouterr().out) == first
    (kept / "clips.json").write_text(json.dumps({**meta, "weights_sha256": "0" * 64}))
    assert main([*common, "--limit", "1", "--clips", str(kept)]) == 2
    assert "not by this model" in capsys.readouterr().err
    # clips that cannot be kept (here: a file where the folder should be) still get scored
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert main([*args, "--save-clips", str(blocked / "kept")]) == 0
    out = capsys.readouterr()
    assert "warning: the clips were not kept" in out.err and json.loads(out.out)["clips"] == 10


def test_kept_latents_decode_to_the_same_clips_and_by_a_tuned_decoder(
    tiny_model_dir, tmp_path, capsys
):
    import torch

    from engine.eval import main
    from engine.model_bundle import ModelBundle

    common = ["--quick", "--json", "--device", "cpu", "--limit", "1", "--kinds", "still,i2v"]
    kept, again = tmp_path / "kept", tmp_path / "again"
    model = ["--model", str(tiny_model_dir)]
    assert main([*model, *common, "--steps", "2", "--save-clips", str(kept)]) == 0
    first = json.loads(capsys.readouterr().out)
    # decoded again by the model that made them: the very same clips, scores and sampling
    assert main([*model, *common, "--decode", str(kept), "--save-clips", str(again)]) == 0
    decoded = json.loads(capsys.readouterr().out)
    assert decoded.pop("decoded_from") == str(kept) and first.pop("decoded_from") is None
    assert decoded == first and decoded["steps"] == 2
    with np.load(kept / "clips.npz") as a, np.load(again / "clips.npz") as b:
        assert sorted(a.files) == sorted(b.files) and len(a.files) == 3
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
    assert json.loads((again / "clips.json").read_text())["decoded_from"] == str(kept)
    assert (again / "latents.npz").is_file()  # the decoded clips can be decoded again too
    # latents kept for the held-out set do not decode as the check set's (other scenes)
    assert main([*model, *common, "--case-set", "check", "--decode", str(kept)]) == 2
    assert "not version 1 of the check set" in capsys.readouterr().err

    def changed(part, folder):
        bundle = ModelBundle.load(tiny_model_dir)
        with torch.no_grad():
            for p in part(bundle).parameters():
                p.mul_(0.5)
        bundle.save(folder)
        return folder

    # a decoder tuned on the same encoder and transformer decodes them into its own clips
    tuned = changed(lambda b: b.vae.decoder, tmp_path / "tuned")
    new = tmp_path / "new"
    args = ["--model", str(tuned), *common, "--decode", str(kept), "--save-clips", str(new)]
    assert main([*args, "--against", str(kept)]) == 0
    assert json.loads(capsys.readouterr().out)["against"]["clips"] == str(kept)
    with np.load(kept / "clips.npz") as a, np.load(new / "clips.npz") as b:
        assert not all(np.array_equal(a[k], b[k]) for k in a.files)
    # another transformer made other latents: refused in one line, and so is --clips with it
    other = changed(lambda b: b.dit, tmp_path / "other")
    assert main(["--model", str(other), *common, "--decode", str(kept)]) == 2
    err = capsys.readouterr().err.strip()
    assert "encoder or transformer differs" in err and "\n" not in err
    assert main([*model, *common, "--decode", str(kept), "--clips", str(kept)]) == 2
    assert "not both" in capsys.readouterr().err


def test_saved_clips_round_trip_losslessly(cases, tmp_path):
    from engine.eval_clips import load_clips, save_clips

    truth = ground_truth_clips(cases[:3])
    names = [c.name for c in cases[:3]]
    save_clips(tmp_path, names, truth, {"steps": 12})
    back, meta = load_clips(tmp_path, names[::-1])
    assert all(np.array_equal(a, b) for a, b in zip(back, truth[::-1], strict=True))
    assert meta["steps"] == 12 and meta["cases"] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips.json", "clips.npz"]


def test_autoencoder_only_scores_the_ceiling_against_another_autoencoder(
    tiny_model_dir, tiny_engine, tmp_path, capsys
):
    # a new autoencoder is judged by its ceiling before a transformer is trained onto it
    from engine.eval import (
        CEILING_KEYS,
        autoencoder_ceiling,
        clip_frames,
        first_of_each_kind,
        main,
        native_size,
    )

    argv = ["--model", str(tiny_model_dir), "--quick", "--device", "cpu", "--limit", "1"]
    out = tmp_path / "ceiling.json"
    assert main([*argv, "--autoencoder-only", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    w, h, fps = native_size(tiny_engine)
    frames = clip_frames(fps)  # as the evaluation's
    cases = first_of_each_kind(build_cases(w, h, fps, frames, quick=True), 1)
    assert {k: printed[k] for k in CEILING_KEYS} == autoencoder_ceiling(tiny_engine, cases)
    assert printed["latent_channels"] == tiny_engine.vae.config.latent_channels
    assert json.loads(out.read_text()) == printed and "against" not in printed
    # against itself: every case ties
    assert main([*argv, "--autoencoder-only", "--against-model", str(tiny_model_dir)]) == 0
    table = capsys.readouterr().out
    assert "case by case against" in table and "better in   0, worse in   0" in table
    assert "better in   1" not in table
    # the option belongs to the autoencoder's report only
    assert main([*argv, "--against-model", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --against-model") and "\n" not in err


def test_eval_cli_reports_a_missing_model_in_one_line(tmp_path, capsys):
    from engine.eval import main

    assert main(["--model", str(tmp_path / "nothing"), "--quick", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_a_misspelt_kind_is_refused_in_one_line_before_the_model_loads(tmp_path, capsys):
    from engine.eval import main, of_kinds

    cases = build_cases(256, 144, 12.0, 25, quick=True)
    assert {c.kind for c in of_kinds(cases, "story")} == {"story_with", "story_without"}
    assert {c.kind for c in of_kinds(cases, "two_objects, camera")} == {"two_objects", "camera"}
    assert main(["--model", str(tmp_path / "nothing"), "--kinds", "storey", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown kind storey") and "story" in err and "\n" not in err


def test_a_sign_test_says_how_lopsided_a_split_is():
    from engine.eval_paired import sign_test_p

    assert sign_test_p(0, 0) == 1.0 and sign_test_p(3, 3) == 1.0
    assert sign_test_p(5, 0) == pytest.approx(2 / 32) == sign_test_p(0, 5)
    assert sign_test_p(10, 0) == pytest.approx(2 / 1024)
    assert sign_test_p(6, 3) == pytest.approx(2 * (1 + 9 + 36 + 84) / 512)


def test_two_sets_of_clips_are_compared_case_by_case(cases):
    from engine.eval import SCORE_KEYS, case_scores
    from engine.eval_paired import paired_comparison

    truth = [case_scores(c, x) for c, x in zip(cases, ground_truth_clips(cases), strict=True)]
    noise = [case_scores(c, x) for c, x in zip(cases, noise_clips(cases), strict=True)]
    better = paired_comparison(SCORE_KEYS, truth, noise)
    colour = better["colour_accuracy"]
    single = [c for c in cases if c.kind in ("still", "motion", "i2v", "paraphrase")]
    assert colour["cases"] == len(single) and colour["this"] >= 0.98
    assert colour["better"] >= 0.6 * len(single) and colour["worse"] == 0 and colour["p"] < 0.01
    # lower is better for flicker and the later-frame error: the truth wins those too
    assert better["flicker"]["better"] == better["flicker"]["cases"]
    assert better["i2v_later_error"]["worse"] == 0
    assert "consistency_ground_truth" not in better  # the same truth either way
    # the other way round, the same split mirrored
    worse = paired_comparison(SCORE_KEYS, noise, truth)["colour_accuracy"]
    assert (worse["better"], worse["worse"]) == (colour["worse"], colour["better"])
    # the means are those of the whole-set scores
    assert colour["this"] == pytest.approx(
        score_clips(cases, ground_truth_clips(cases))["colour_accuracy"]
    )
