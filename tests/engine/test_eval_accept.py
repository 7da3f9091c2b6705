"""The check set's rule for replacing the shipped model, on real case-by-case comparisons."""

from __future__ import annotations

import pytest

from engine.data.eval_cases import ground_truth_clips, noise_clips
from engine.eval import SCORE_KEYS, build_cases, case_scores, first_of_each_kind
from engine.eval_accept import (
    PROMPT_SCORES,
    VETOING,
    acceptance,
    format_acceptance,
    format_veto,
    held_out_veto,
)
from engine.eval_paired import paired_comparison, sign_test_p


@pytest.fixture(scope="module")
def truth_and_noise():
    cases = first_of_each_kind(build_cases(256, 144, 12.0, 25, quick=False, case_set="check"), 2)
    truth = [case_scores(c, x) for c, x in zip(cases, ground_truth_clips(cases), strict=True)]
    noise = [case_scores(c, x) for c, x in zip(cases, noise_clips(cases), strict=True)]
    return truth, noise


def test_the_ground_truth_is_accepted_over_noise_and_noise_is_refused(truth_and_noise):
    truth, noise = truth_and_noise
    win = acceptance(paired_comparison(SCORE_KEYS, truth, noise))
    assert win["accept"] and not win["reasons"] and win["better"] > 0 and win["worse"] == 0
    lose = acceptance(paired_comparison(SCORE_KEYS, noise, truth))
    assert not lose["accept"] and (lose["better"], lose["worse"]) == (win["worse"], win["better"])
    assert any(r.startswith("colour_accuracy better in 0") for r in lose["reasons"])
    assert "win no more cases than they lose" in lose["reasons"][-1]
    assert format_acceptance(win).startswith("the check set's rule: accept")
    assert format_acceptance(lose).startswith("the check set's rule: refuse: colour_accuracy")
    # the same model against itself: every case ties, so nothing is won and it is refused
    tie = acceptance(paired_comparison(SCORE_KEYS, truth, truth))
    assert not tie["accept"] and tie["reasons"] == [
        "the prompt scores together win no more cases than they lose"
    ]


def row(better: int, worse: int) -> dict:
    p = sign_test_p(better, worse)
    return {"cases": 24, "this": 0.0, "against": 0.0, "better": better, "worse": worse, "p": p}


@pytest.mark.parametrize(
    ("changes", "accept"),
    [
        ({"direction_accuracy": row(6, 0)}, True),  # a gain elsewhere, colour and shape tied
        ({"direction_accuracy": row(6, 0), "colour_accuracy": row(3, 4)}, False),  # colour gives
        ({"direction_accuracy": row(6, 0), "shape_accuracy": row(0, 1)}, False),  # so does shape
        ({"colour_accuracy": row(5, 5), "camera_accuracy": row(1, 1)}, False),  # no net gain
        ({"colour_accuracy": row(5, 4)}, True),  # a net gain of one case is enough
    ],
)
def test_colour_and_shape_may_not_give_and_the_prompt_scores_must_gain(changes, accept):
    paired = {k: row(0, 0) for k in PROMPT_SCORES}
    paired["flicker"] = row(0, 40)  # read on the held-out set, not by this rule
    paired.update(changes)
    assert acceptance(paired)["accept"] is accept
    missing = {k: v for k, v in paired.items() if k != "shape_accuracy"}
    assert not acceptance(missing)["accept"]  # a comparison without shape decides nothing


@pytest.mark.parametrize(
    ("changes", "veto"),
    [
        ({}, False),  # every case tied
        ({"consistency_with_context": row(2, 6)}, False),  # a loss, but not a clear one (p 0.29)
        ({"consistency_with_context": row(1, 8)}, True),  # p 0.04
        ({"i2v_later_error": row(0, 6)}, True),  # p 0.03
        ({"i2v_later_error": row(8, 1)}, False),  # a clear gain
        ({"colour_accuracy": row(0, 9)}, False),  # the check set's rule reads colour, not this
    ],
)
def test_the_held_out_set_vetoes_only_a_clear_loss_of_what_the_prompt_scores_miss(changes, veto):
    paired = {k: row(0, 0) for k in (*PROMPT_SCORES, *VETOING)}
    paired.update(changes)
    v = held_out_veto(paired)
    assert v["veto"] is veto and bool(v["reasons"]) is veto
    assert format_veto(v) == (
        "the held-out veto: refuse: " + v["reasons"][0] if veto else "the held-out veto: none"
    )
    if veto:
        key = next(iter(changes))
        r = changes[key]
        assert v["reasons"] == [
            f"{key} better in {r['better']}, worse in {r['worse']} (p {r['p']:.2f})"
        ]
    without = {k: r for k, r in paired.items() if k != "i2v_later_error"}
    assert held_out_veto(without)["reasons"][0] == "no i2v_later_error to compare"


@pytest.mark.parametrize("case_set", ["check", "held-out"])
def test_a_whole_set_run_against_kept_clips_says_the_verdict_or_the_veto(
    tiny_model_dir, tmp_path, capsys, case_set
):
    """Kept clips of a whole set (here: its ground truth and uniform noise, saved as a model's
    clips are) compared by `eval --clips --against`: on the check set the rule's verdict, on the
    held-out set its veto, in the JSON and under the table; a part of the set decides nothing."""
    import json

    from engine.eval import clip_frames, main, native_size
    from engine.eval_clips import case_set_meta, save_clips
    from engine.pipeline import Engine

    w, h, fps = native_size(Engine.load(tiny_model_dir, device="cpu"))
    cases = build_cases(w, h, fps, clip_frames(fps), quick=False, case_set=case_set)
    names = [c.name for c in cases]
    sha = json.loads((tiny_model_dir / "config.json").read_text())["weights_sha256"]
    meta = {"model": "kept", "weights_sha256": sha, **case_set_meta(case_set)}
    truth, noise = tmp_path / "truth", tmp_path / "noise"
    save_clips(truth, names, ground_truth_clips(cases), meta)
    save_clips(noise, names, noise_clips(cases), meta)
    common = ["--model", str(tiny_model_dir), "--device", "cpu", "--case-set", case_set]
    assert main([*common, "--json", "--clips", str(truth), "--against", str(noise)]) == 0
    against = json.loads(capsys.readouterr().out)["against"]
    assert main([*common, "--clips", str(noise), "--against", str(truth)]) == 0
    table = capsys.readouterr().out
    if case_set == "check":
        verdict = against["verdict"]
        assert (
            verdict["accept"] and verdict["better"] > 100 and verdict["worse"] <= 5
        )  # noise hits a few
        assert "veto" not in against
        assert "the check set's rule: refuse: colour_accuracy" in table
    else:
        assert against["veto"] == {"veto": False, "reasons": []} and "verdict" not in against
        assert "the held-out veto: refuse: i2v_later_error better in 0, worse in 12" in table
        assert "consistency_with_context better in 0" in table
    part = [*common, "--json", "--kinds", "still", "--clips", str(truth), "--against", str(noise)]
    assert main(part) == 0
    against = json.loads(capsys.readouterr().out)["against"]
    assert "verdict" not in against and "veto" not in against
