"""`python -m engine eval`: generate the held-out world cases with a model and score them.

Scoring works on clips from any source (`score_clips(cases, clips)`), so the same code scores the
ground-truth renders (near perfect), random noise (chance) and a model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.cli_options import SAMPLING_KEYS, add_eval_options, case_set_of
from engine.data import detector as D
from engine.data.eval_cases import (
    COUNTS,
    EvalCase,
    build_cases,
    ground_truth_clips,
    noise_clips,
)
from engine.data.recognise import recogniser_for
from engine.data.world_render import render_uint8
from engine.eval_accept import acceptance, format_acceptance, format_veto, held_out_veto
from engine.eval_clips import (
    add_to_meta,
    case_set_meta,
    check_case_set,
    load_clips,
    load_latents,
    read_meta,
    save_clips,
    save_latents,
    write_contact_sheet,
)
from engine.eval_misses import colour_misses, direction_misses
from engine.eval_paired import (
    context_pairs,
    format_context_pairs,
    format_paired,
    is_share,
    paired_comparison,
)
from engine.request import EngineError, GenerationRequest

__all__ = [
    "EvalCase",
    "build_cases",
    "ground_truth_clips",
    "noise_clips",
    "score_clips",
    "case_scores",
    "generate_clips",
]
SINGLE = (
    "still",
    "motion",
    "i2v",
    "paraphrase",
)  # one object, static camera: colour/shape/background


def _mean(xs: list[float]) -> float | None:
    return float(np.mean(xs)) if xs else None


def _character_crops(case: EvalCase, clip: np.ndarray) -> list[np.ndarray | None]:
    """The story character's crop in three frames of the clip (None where it is not found)."""
    colour = case.spec.looks[0].colour
    idx = np.linspace(0, len(clip) - 1, min(3, len(clip))).astype(int)
    return [D.object_crop(clip[i], colour) for i in idx]


def _consistency(case: EvalCase, crops: list[np.ndarray | None]) -> float:
    """Identity-pattern similarity of the character's crops to its reference still."""
    ref = D.object_crop(case.reference_crop_of, case.spec.looks[0].colour)
    return float(np.mean([D.identity_similarity(c, ref) for c in crops]))


def _pattern_shown(crops: list[np.ndarray | None]) -> float:
    """The share of the crops in which the character is found with a pattern on it at all.
    Every story character has one; a character drawn plain scores only the layout half of the
    similarity (about 0.4), so this says which half a consistency score comes from."""
    return float(np.mean([D.shows_pattern(c) for c in crops]))


def _later_error(case: EvalCase, clip: np.ndarray) -> float:
    """Mean absolute error (levels) of the frames after the first against the ground truth.
    Frame 0 of an image-to-video clip is the start image itself; the later frames show whether
    the model learned to carry on from it."""
    truth = render_uint8(case.spec)
    return float(np.abs(clip[1:].astype(np.float32) - truth[1:].astype(np.float32)).mean())


# Every score a case can get; `score_clips` averages each over the cases that have it.
SCORE_KEYS = (
    "colour_accuracy",
    "shape_accuracy",
    "background_accuracy",
    "direction_accuracy",
    "camera_accuracy",
    "bounce_accuracy",
    "count_accuracy",
    "relation_accuracy",
    "paraphrase_accuracy",
    "paraphrase_direction_accuracy",
    "i2v_psnr_db",
    "i2v_direction_accuracy",
    "i2v_later_error",
    "i2v_later_error_without",
    "consistency_with_context",
    "consistency_without_context",
    "consistency_ground_truth",
    # The same, split by whether the scene goes on where the previous one ended or cuts away:
    # a continuing scene's character is where the carried-over frames left it, a cut's must be
    # found in them (or in the reference still) and redrawn elsewhere.
    "consistency_continuing_with_context",
    "consistency_continuing_without_context",
    "consistency_cut_with_context",
    "consistency_cut_without_context",
    "pattern_shown_with_context",
    "pattern_shown_without_context",
    "flicker",
)


def case_scores(case: EvalCase, clip: np.ndarray) -> dict[str, float]:
    """The scores of one clip (T, H, W, 3) uint8 against its case (accuracies 0 or 1)."""
    spec = case.spec
    if clip.shape[1:3] != (spec.height, spec.width):
        raise ValueError(
            f"{case.name}: clip is {clip.shape[2]}x{clip.shape[1]}, expected {spec.width}x{spec.height}"
        )
    rec = recogniser_for(spec.width, spec.height)
    m: dict[str, float] = {}
    k = case.kind
    if k in SINGLE:
        want = spec.looks[0]
        colour = D.main_colour(clip)
        checks = [colour == want.colour]
        m["colour_accuracy"] = checks[0]
        shape = rec.shape(clip, want.colour) if colour == want.colour else None
        checks.append(shape == want.shape)
        m["shape_accuracy"] = checks[1]
        m["background_accuracy"] = rec.background(clip[0]) == spec.background.label
        if k in ("motion", "paraphrase", "i2v"):
            ok = D.direction(clip, want.colour) == spec.direction
            checks.append(ok)
            m["direction_accuracy" if k == "motion" else f"{k}_direction_accuracy"] = ok
        if k == "paraphrase":
            m["paraphrase_accuracy"] = np.mean(checks)
        if k == "i2v":
            m["i2v_psnr_db"] = D.psnr(clip[0], case.image)
            m["i2v_later_error"] = _later_error(case, clip)
        m["flicker"] = D.flicker(clip)
    elif k == "i2v_without":  # the same prompt and seed as its i2v twin, no start image
        m["i2v_later_error_without"] = _later_error(case, clip)
    elif k == "bounce":
        m["bounce_accuracy"] = D.bounces(clip, spec.fps, spec.looks[0].colour)
    elif k == "camera":
        m["camera_accuracy"] = D.camera_move(clip) == spec.camera
    elif k == "two_objects":
        a, b = spec.looks[0].colour, spec.looks[1].colour
        m["relation_accuracy"] = D.relation(clip[0], a, b) == spec.relation
        m["count_accuracy"] = D.count(clip[0]) == len(spec.looks)
    elif k in ("story_with", "story_without"):
        side = "with_context" if k == "story_with" else "without_context"
        crops = _character_crops(case, clip)  # found once, read by both scores
        m[f"consistency_{side}"] = _consistency(case, crops)
        split = "continuing" if spec.continues else "cut"
        m[f"consistency_{split}_{side}"] = m[f"consistency_{side}"]
        m[f"pattern_shown_{side}"] = _pattern_shown(crops)
        if k == "story_with":
            m["consistency_ground_truth"] = _consistency(
                case, _character_crops(case, render_uint8(spec))
            )
    return {key: float(v) for key, v in m.items()}


def score_clips(
    cases: list[EvalCase], clips: list[np.ndarray], seconds_per_clip: float | None = None
) -> dict:
    """Scores of clips (T, H, W, 3) uint8 against their cases. Accuracies are fractions 0-1."""
    return aggregate_scores(per_case_scores(cases, clips), seconds_per_clip)


def per_case_scores(cases: list[EvalCase], clips: list[np.ndarray]) -> list[dict[str, float]]:
    if len(cases) != len(clips):
        raise ValueError(f"{len(cases)} cases but {len(clips)} clips")
    return [case_scores(c, x) for c, x in zip(cases, clips, strict=True)]


def aggregate_scores(
    per_case: list[dict[str, float]], seconds_per_clip: float | None = None
) -> dict:
    """The means of `case_scores` over the cases, and what derives from them."""
    out = {key: _mean([s[key] for s in per_case if key in s]) for key in SCORE_KEYS}
    # How much closer the start image brings the later frames to the truth: 1 = it does not help.
    with_, without = out["i2v_later_error"], out["i2v_later_error_without"]
    out["i2v_follow"] = without / with_ if with_ and without is not None else None
    out["seconds_per_clip"] = seconds_per_clip
    out["clips"] = len(per_case)
    return out


def generate_clips(
    engine,
    cases: list[EvalCase],
    progress: Callable[[int, int], None] | None = None,
    sampling: dict | None = None,
    latents: list | None = None,
):
    """Generate every case with the engine (its default sampling unless `sampling` overrides
    steps, sampler, guidance, context_guidance or guidance_min_sigma); returns (clips, seconds
    per clip). Given a list as `latents`, each clip's generated latents (C, t, h, w) float32 are
    appended to it."""
    clips, spent = [], 0.0
    for i, c in enumerate(cases):
        s = c.spec
        req = GenerationRequest(
            prompt=c.prompt,
            width=s.width,
            height=s.height,
            frames=s.frames,
            fps=s.fps,
            seed=c.seed % (2**31),
            image=c.image,
            references=list(c.references),
            previous=c.previous,
            keep_latents=latents is not None,
            **(sampling or {}),
        )
        t0 = time.perf_counter()
        clip = engine.generate(req)
        spent += time.perf_counter() - t0
        if latents is not None:
            latents.append(clip.latents.numpy())
        clips.append(_to_length(np.asarray(clip.frames), s.frames))
        if progress:
            progress(i + 1, len(cases))
    return clips, spent / max(1, len(cases))


# Scored also on the autoencoder's round trip of the ground truth: the ceiling of the model.
CEILING_KEYS = (
    "colour_accuracy",
    "shape_accuracy",
    "background_accuracy",
    "direction_accuracy",
    "camera_accuracy",
    "bounce_accuracy",
    "count_accuracy",
    "relation_accuracy",
    "i2v_psnr_db",
    "consistency_with_context",
    "pattern_shown_with_context",
)
# story_with: the next scene's truth through the autoencoder, against the reference still (how
# much of the identity pattern the autoencoder keeps)
CEILING_KINDS = (*SINGLE, "bounce", "camera", "two_objects", "story_with")


def autoencoder_case_scores(engine, cases: list[EvalCase]) -> dict[str, dict[str, float]]:
    """Each case's scores on the ground truth after the engine's autoencoder alone, by name
    (only the kinds that have a ceiling score)."""
    cases = [c for c in cases if c.kind in CEILING_KINDS]
    clips = [engine.autoencode(gt) for gt in ground_truth_clips(cases)]
    return {c.name: case_scores(c, x) for c, x in zip(cases, clips, strict=True)}


def ceiling_of(per_case: dict[str, dict[str, float]]) -> dict:
    scores = aggregate_scores(list(per_case.values()))
    return {k: scores[k] for k in CEILING_KEYS}


def autoencoder_ceiling(engine, cases: list[EvalCase]) -> dict:
    """The scores of the ground truth after the engine's autoencoder alone. Every generated
    clip is decoded by the same decoder, so the transformer cannot score above these."""
    return ceiling_of(autoencoder_case_scores(engine, cases))


def _decoded(
    engine, folder: str, cases: list[EvalCase], case_set: str, latents: list, progress=None
) -> tuple[list, dict]:
    """The clips whose latents `--save-clips` kept in `folder`, decoded by this engine, and the
    kept metadata: the same clips a full run would make, when only the decoder changed. The
    latents are appended to `latents`."""
    names = [c.name for c in cases]
    meta = read_meta(folder)
    check_case_set(folder, meta, case_set)
    if meta.get("latent_sha256") != engine.latent_hash:
        raise EngineError(
            f"the latents in {folder} were made by {meta.get('model')}, whose encoder or "
            "transformer differs from this model's: generate instead"
        )
    latents += load_latents(folder, names)
    clips = []
    for i, (z, c) in enumerate(zip(latents, cases, strict=True)):
        clips.append(_to_length(engine.decode_latents(z, c.spec.frames), c.spec.frames))
        if progress:
            progress(i + 1, len(cases))
    return clips, meta


def _to_length(frames: np.ndarray, n: int) -> np.ndarray:
    """The engine may round a clip's length: score the frames that overlap the case's."""
    if frames.shape[0] == n:
        return frames
    return frames[np.clip(np.arange(n), 0, frames.shape[0] - 1)]


def _current(kept) -> bool:
    """Whether a kept ceiling was read by this detector and has every ceiling score (one kept
    before a score was added lacks it)."""
    return (
        isinstance(kept, dict)
        and kept.get("detector") == D.VERSION
        and set(CEILING_KEYS) <= set(kept.get("keys") or ())
    )


def _kept_ceiling(meta: dict, cases: list[EvalCase]) -> dict[str, dict[str, float]] | None:
    """The per-case ceiling kept with saved clips (`meta["autoencoder"]`), if it covers these
    cases and this detector read it (the clips' model is checked before): rescoring then skips
    the autoencoder."""
    kept = meta.get("autoencoder")
    if not _current(kept):
        return None
    by_name = kept.get("cases") or {}
    names = [c.name for c in cases if c.kind in CEILING_KINDS]
    if not all(isinstance(by_name.get(n), dict) for n in names):
        return None
    return {n: by_name[n] for n in names}


def _keep_ceiling(folder: str, meta: dict, ceiling: dict[str, dict[str, float]]) -> None:
    """Add these cases' ceiling to what the clips in `folder` keep (a subset adds to the rest)."""
    kept = meta.get("autoencoder")
    earlier = (kept.get("cases") or {}) if _current(kept) else {}
    cases = {**earlier, **ceiling}
    try:
        entry = {"detector": D.VERSION, "keys": list(CEILING_KEYS), "cases": cases}
        add_to_meta(folder, {"autoencoder": entry})
    except (EngineError, OSError) as e:
        print(f"warning: the autoencoder's scores were not kept: {e}", file=sys.stderr)


def of_kinds(cases: list[EvalCase], kinds: str) -> list[EvalCase]:
    """The cases of the comma-separated kinds (a kind brings its twins: story -> story_with and
    story_without, i2v -> i2v and i2v_without)."""
    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in COUNTS]
    if unknown or not wanted:
        bad = unknown[0] if unknown else repr(kinds)
        raise EngineError(f"unknown kind {bad}; the kinds are {', '.join(COUNTS)}")
    return [c for c in cases if any(c.kind == k or c.kind.startswith(k + "_") for k in wanted)]


def first_of_each_kind(cases: list[EvalCase], n: int) -> list[EvalCase]:
    seen: dict[str, int] = {}
    out = []
    for c in cases:
        seen[c.kind] = seen.get(c.kind, 0) + 1
        if seen[c.kind] <= n:
            out.append(c)
    return out


def clip_frames(fps: float) -> int:
    """An evaluation clip's length at `fps`: about two seconds, 1 + 4k frames."""
    return 1 + 4 * max(1, round(2 * fps / 4))


def native_size(engine) -> tuple[int, int, float]:
    n = getattr(engine, "native", None)
    return (
        int(getattr(n, "width", 256)),
        int(getattr(n, "height", 144)),
        float(getattr(n, "fps", 12.0)),
    )


def format_table(scores: dict) -> str:
    rows = []
    for k, v in scores.items():
        if isinstance(v, dict):  # e.g. the autoencoder's ceiling
            rows += [f"{k}.{line}" for line in format_table(v).splitlines()]
            continue
        if v is None:
            txt = "-"
        elif is_share(k):
            txt = f"{100 * v:6.1f} %"
        elif k == "i2v_psnr_db":
            txt = f"{v:6.2f} dB"
        elif k == "flicker" or k.startswith("i2v_later_error"):
            txt = f"{v:6.2f} levels"
        elif k == "i2v_follow":
            txt = f"{v:6.2f} x"
        elif k == "seconds_per_clip":
            txt = f"{v:6.2f} s"
        else:
            txt = str(v)
        rows.append(f"{k:40s} {txt}")
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine eval")
    add_eval_options(p)
    return p


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    """Run the evaluation; `args` is the engine CLI's parsed namespace or an argv list."""
    a = args if isinstance(args, argparse.Namespace) else build_parser().parse_args(args)
    from engine.pipeline import Engine

    try:
        try:
            case_set = case_set_of(a)
        except ValueError as e:
            raise EngineError(str(e)) from e
        if getattr(a, "kinds", None):
            of_kinds([], a.kinds)  # a misspelt kind fails before the model loads
        if getattr(a, "clips", None) and getattr(a, "decode", None):
            raise EngineError("give --clips or --decode, not both")
        if getattr(a, "against_model", None) and not getattr(a, "autoencoder_only", False):
            raise EngineError("--against-model compares autoencoders: give --autoencoder-only")
        eng = Engine.load(getattr(a, "model", None), device=getattr(a, "device", "auto"))
    except EngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    w, h, fps = native_size(eng)
    frames = clip_frames(fps)
    cases = build_cases(
        w, h, fps, frames, quick=bool(getattr(a, "quick", False)), case_set=case_set
    )
    if getattr(a, "kinds", None):
        cases = of_kinds(cases, a.kinds)
    if getattr(a, "limit", None):
        cases = first_of_each_kind(cases, a.limit)
    if getattr(a, "autoencoder_only", False):
        from engine.eval_ceiling import autoencoder_report

        return autoencoder_report(a, eng, cases)
    tick = (
        None
        if a.json
        else (lambda i, n: print(f"\r{i}/{n} clips", end="", file=sys.stderr, flush=True))
    )
    config = getattr(eng, "config", None) or {}
    overrides = {k: getattr(a, k, None) for k in SAMPLING_KEYS}
    # what the clips are generated with: the model's sampling where not overridden
    used = {
        k: v if v is not None else config.get("sampling", {}).get(k) for k, v in overrides.items()
    }
    used["sampler"] = used["sampler"] or "euler"
    names = [c.name for c in cases]
    ceiling, kept, meta = None, None, {}
    latents: list = []  # of the generated clips, kept with them for decoding again
    try:
        # read first: a wrong folder fails in a second, not after 25 minutes of generating
        others = load_clips(a.against, names, case_set) if getattr(a, "against", None) else None
        if getattr(a, "decode", None):
            clips, meta = _decoded(eng, a.decode, cases, case_set, latents, tick)
            spc, used = meta.get("seconds_per_clip"), {k: meta.get(k) for k in SAMPLING_KEYS}
        elif getattr(a, "clips", None):
            clips, meta = load_clips(a.clips, names, case_set)
            if meta.get("weights_sha256") != config.get("weights_sha256"):
                raise EngineError(
                    f"the clips in {a.clips} were made by {meta.get('model')}, not by this model"
                )
            spc, used = meta.get("seconds_per_clip"), {k: meta.get(k) for k in SAMPLING_KEYS}
            ceiling, kept = _kept_ceiling(meta, cases), a.clips
        else:
            clips, spc = generate_clips(
                eng,
                cases,
                tick,
                {k: v for k, v in overrides.items() if v is not None},
                latents if getattr(a, "save_clips", None) else None,
            )
    except (EngineError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if getattr(a, "save_clips", None) and not getattr(a, "clips", None):
        meta = {
            **used,
            "seconds_per_clip": spc,
            "model": str(getattr(eng, "model_dir", a.model)),
            "weights_sha256": config.get("weights_sha256"),
            "dit_step": config.get("training", {}).get("dit_steps_done"),
            "latent_sha256": eng.latent_hash,
            **case_set_meta(case_set),
        }
        if getattr(a, "decode", None):  # decoded again: what made the latents, on the record
            meta["decoded_from"] = str(a.decode)
        try:
            save_clips(a.save_clips, names, clips, meta)
            if latents:
                save_latents(a.save_clips, names, latents)
            shown = first_of_each_kind(cases, 2)  # render only the truths the sheet shows
            by_name = dict(zip(names, clips, strict=True))
            write_contact_sheet(
                a.save_clips,
                [c.name for c in shown],
                [by_name[c.name] for c in shown],
                ground_truth_clips(shown),
            )
            kept = a.save_clips
        except (EngineError, OSError) as e:  # a full disk must not cost the scores
            print(f"warning: the clips were not kept: {e}", file=sys.stderr)
    known = ceiling is not None  # kept with the clips being rescored
    sha = config.get("weights_sha256")
    if not known and others is not None and sha and others[1].get("weights_sha256") == sha:
        # a sampling sweep against this very model's clips: its autoencoder scored these already
        ceiling = _kept_ceiling(others[1], cases)
    if ceiling is None:
        ceiling = autoencoder_case_scores(eng, cases)
    if kept and not known:  # so that rescoring these clips skips the autoencoder
        _keep_ceiling(kept, meta, ceiling)
    if tick:
        print(file=sys.stderr)
    per_case = per_case_scores(cases, clips)
    scores = aggregate_scores(per_case, spc)
    pairs = context_pairs(cases, per_case)
    misses = colour_misses(cases, clips)
    moves = direction_misses(cases, clips)
    paired = None
    if others is not None:
        other_clips, other_meta = others
        those = per_case_scores(cases, other_clips)
        paired = {
            "clips": str(a.against),
            "model": other_meta.get("model"),
            "weights_sha256": other_meta.get("weights_sha256"),
            "dit_step": other_meta.get("dit_step"),
            "sampling": {k: other_meta.get(k) for k in SAMPLING_KEYS},  # None: not recorded
            "scores": paired_comparison(SCORE_KEYS, per_case, those),
            "colour_misses": colour_misses(cases, other_clips),
            "direction_misses": direction_misses(cases, other_clips),
        }
        whole = not any(getattr(a, k, None) for k in ("quick", "limit", "kinds"))
        if case_set == "check" and whole:  # only the whole check set decides
            paired["verdict"] = acceptance(paired["scores"])
        elif case_set == "held-out" and whole:  # then the whole held-out set may veto
            paired["veto"] = held_out_veto(paired["scores"])
    scores["autoencoder"] = ceiling_of(ceiling)
    scores["device"] = str(getattr(eng, "device", a.device))
    scores["model"] = str(getattr(eng, "model_dir", a.model))
    scores["size"] = f"{w}x{h}@{fps:g}fps, {frames} frames"
    scores["quick"] = bool(getattr(a, "quick", False))
    scores["limit"] = getattr(a, "limit", None)
    scores["kinds"] = getattr(a, "kinds", None)
    scores["case_set"] = case_set
    scores["decoded_from"] = getattr(a, "decode", None)  # whose kept latents, if not generated
    training = config.get("training", {})
    scores["dit_samples"] = training.get("totals", {}).get("dit_samples")
    scores.update(used)
    scores["dit_step"] = training.get("dit_steps_done")
    scores["weights_sha256"] = sha
    scores["detector"] = D.VERSION  # scores of different detector versions do not compare
    if misses:
        scores["colour_misses"] = misses
    if moves:
        scores["direction_misses"] = moves
    if pairs:
        scores["context_pairs"] = pairs
    if paired is not None:
        scores["against"] = paired
    report(a, scores, paired and (paired["model"] or paired["clips"]))
    return 0


def report(a: argparse.Namespace, scores: dict, against: str | None) -> None:
    """Scores to `--out` (JSON), and printed as JSON or as a table with the paired comparison
    (`scores["against"]`) against `against` under it."""
    if getattr(a, "out", None):
        Path(a.out).write_text(json.dumps(scores, indent=2))
    if a.json:
        print(json.dumps(scores))
    else:
        print(
            format_table({k: v for k, v in scores.items() if k not in ("against", "context_pairs")})
        )
        if "context_pairs" in scores:
            print(format_context_pairs(scores["context_pairs"]))
        if "against" in scores:
            print(format_paired(scores["against"]["scores"], against))
            if "verdict" in scores["against"]:
                print(format_acceptance(scores["against"]["verdict"]))
            if "veto" in scores["against"]:
                print(format_veto(scores["against"]["veto"]))


if __name__ == "__main__":
    sys.exit(main())
