"""`python -m engine card`: write a model folder's MODEL_CARD.md from what is on disk.

Every figure in the card comes from a file a command wrote: the model's config.json (training
totals, parameters), its training_log.jsonl (loss and validation curve) and the JSON files of
`python -m engine eval --out` (scores, each tagged with the training step it measured). Nothing
is typed in by hand, so the card cannot drift from the model it describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The default model's targets (issue "story world ... default model"): key -> (goal, higher is better)
TARGETS: dict[str, tuple[float, bool]] = {
    "colour_accuracy": (0.90, True),
    "shape_accuracy": (0.85, True),
    "direction_accuracy": (0.85, True),
    "camera_accuracy": (0.85, True),
    "i2v_psnr_db": (28.0, True),
    "seconds_per_clip": (20.0, False),
}


@dataclass
class EvalRun:
    step: int | None
    scores: dict

    @classmethod
    def load(cls, path: Path) -> EvalRun:
        d = json.loads(Path(path).read_text())
        return cls(d.get("dit_step"), d)


def _fmt(key: str, v) -> str:
    if v is None:
        return "-"
    if key.endswith("accuracy") or key.startswith("consistency"):
        return f"{100 * v:.1f} %"
    if key == "i2v_psnr_db":
        return f"{v:.2f} dB"
    if key == "seconds_per_clip":
        return f"{v:.2f} s"
    if key == "flicker":
        return f"{v:.2f}"
    if key.startswith("i2v_later_error"):
        return f"{v:.1f} levels"
    if key == "i2v_follow":
        return f"{v:.2f}x"
    return str(v)


def _verdict(key: str, v) -> str:
    if key not in TARGETS or v is None:
        return ""
    goal, higher = TARGETS[key]
    ok = v >= goal if higher else v <= goal
    shown = _fmt(key, goal)
    if ok:
        return f"met (goal {'>=' if higher else '<='} {shown})"
    gap = goal - v if higher else v - goal
    return f"short by {_fmt(key, gap)} (goal {'>=' if higher else '<='} {shown})"


def _log_rows(log: Path) -> list[dict]:
    """The training log's rows; a torn or foreign line is skipped."""
    rows = []
    if log.is_file():
        for line in log.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def _curve(rows: list[dict]) -> list[tuple[int, float]]:
    """(step, EMA validation loss) from the training log's validation rows; a step validated
    twice (a run ended and resumed there) counts once, with its latest value."""
    curve = {
        int(r["step"]): float(r["val_loss"])
        for r in rows
        if r.get("stage") == "dit" and r.get("event") == "val"
    }
    return sorted(curve.items())


def _rebases(rows: list[dict]) -> list[tuple[int, int]]:
    """(transformer step, autoencoder step) where the transformer moved to a retrained
    autoencoder: scores and losses on either side of it are of different latents."""
    return [(int(r["step"]), int(r["vae_step"])) for r in rows if r.get("event") == "rebase"]


def _object_weight(model_dir: Path) -> float:
    try:
        return float(json.loads((model_dir / "train_config.json").read_text())["vae_object_weight"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def _unlike_headline(scores: dict, headline: dict) -> str:
    """A learning-curve row sampled with other guidance than the headline, or scored by another
    version of the detector (evaluations before there were versions are version 1), says so."""
    diff = [
        f"{k.replace('_', ' ')} {scores[k]}"
        for k in ("guidance", "context_guidance")
        if scores.get(k) is not None and scores.get(k) != headline.get(k)
    ]
    if scores.get("detector", 1) != headline.get("detector", 1):
        diff.append(f"detector {scores.get('detector', 1)}")
    return f" ({', '.join(diff)})" if diff else ""


def _headline(evals: list[EvalRun]) -> EvalRun:
    """The latest checkpoint's evaluation; of two at the same step, the full one."""
    return max(evals, key=lambda e: (e.step or 0, not e.scores.get("quick")))


def render(model_dir: Path, evals: list[EvalRun]) -> str:
    cfg = json.loads((model_dir / "config.json").read_text())
    tr = cfg.get("training", {})
    totals = tr.get("totals", {})
    params = cfg.get("parameters", {})
    dit, vae = cfg.get("dit", {}), cfg.get("vae", {})
    native = cfg.get("native", {})
    stages = ("vae_seconds", "dit_seconds", "decoder_seconds", "retired_decoder_seconds")
    hours = sum(totals.get(k, 0) for k in stages) / 3600
    lines = [
        f"# {cfg.get('name', model_dir.name)}",
        "",
        "Storyloom's default video model, trained by this repository's own recipe "
        "(`train_config.json` in this folder) on the procedural story world "
        "(`engine/data/`), and measured on that world's held-out set (`python -m engine eval`). "
        "It is not a general-purpose video model: it knows coloured shapes with identity patterns, "
        "their moves, a set of backgrounds and camera moves, and nothing else.",
        "",
        "## Model",
        f"- Autoencoder: causal 3D convolutions, {vae.get('spatial_factor', 8)}x spatial and 4x "
        f"temporal compression, {vae.get('latent_channels')} latent channels, "
        f"{params.get('vae', 0) / 1e6:.2f} M parameters."
        + (
            f" Its loss weighs the world's objects and a 2-pixel outline {1 + ow:g}x, so small "
            "characters keep their shape (`vae_object_weight`)."
            if (ow := _object_weight(model_dir)) > 0
            else ""
        ),
        f"- Transformer: width {dit.get('width')}, depth {dit.get('depth')}, {dit.get('heads')} "
        f"heads, patch {dit.get('patch')}, {params.get('dit', 0) / 1e6:.2f} M parameters; prompt "
        f"encoder {cfg.get('text_encoder')} (frozen), read by cross-attention"
        + (" and, pooled, through the adaLN conditioning." if dit.get("pooled_text") else "."),
        f"- Native size {native.get('width')}x{native.get('height')} at {native.get('fps')} fps; "
        f"sampling {cfg.get('sampling', {}).get('steps')} steps of the "
        f"{cfg.get('sampling', {}).get('sampler', 'euler')} sampler, text guidance "
        f"{cfg.get('sampling', {}).get('guidance')}.",
        f"- Weights: fp16 safetensors, sha256 `{cfg.get('weights_sha256', '?')[:16]}...`.",
        "",
        "## Training compute",
        f"- Devices: {', '.join(totals.get('devices', [])) or '?'}; "
        f"{hours:.2f} hours in all (autoencoder {totals.get('vae_seconds', 0) / 60:.0f} min, "
        f"transformer {totals.get('dit_seconds', 0) / 60:.0f} min"
        + (
            f", decoder fine-tuning {totals['decoder_seconds'] / 60:.0f} min"
            if totals.get("decoder_seconds")
            else ""
        )
        + (
            f", and {totals['retired_decoder_seconds'] / 60:.0f} min on a decoder fine-tuned for "
            "an earlier encoder, no longer in these weights)."
            if totals.get("retired_decoder_seconds")
            else ")."
        ),
        f"- Transformer steps done: {tr.get('dit_steps_done')}; clips seen: "
        f"{totals.get('dit_samples', 0):,}.",
        "- Continue it: `python -m engine train --config train_config.json --stage dit "
        "--init-from resources/models/storyloom-tiny --device cuda --set dit_steps=N` "
        "(goes on from its step count and appends to this log; `docs/gpu_training.md`).",
        "",
    ]
    if evals:
        latest = _headline(evals)
        s = latest.scores
        lines += [
            "## Evaluation",
            f"`python -m engine eval{' --quick' if s.get('quick') else ''}"
            f"{' --limit ' + str(s['limit']) if s.get('limit') else ''}"
            f"{' --steps ' + str(s['steps']) if s.get('steps') else ''}"
            f"{' --sampler ' + s['sampler'] if s.get('sampler') else ''}"
            f"{' --guidance ' + str(s['guidance']) if s.get('guidance') is not None else ''}"
            f"{' --context-guidance ' + str(s['context_guidance']) if s.get('context_guidance') is not None else ''}"
            " --json` on "
            f"{s.get('device', '?')}, {s.get('clips', '?')} held-out clips ({s.get('size', '')}), "
            f"transformer step {latest.step}.",
            "",
        ]
        ae = s.get("autoencoder") or {}
        if ae:
            lines[-1:-1] = [
                "",
                "The autoencoder column scores the ground truth after the autoencoder alone "
                "(encoded and decoded): every clip the model makes leaves by that decoder, so "
                "the transformer cannot score above it.",
            ]
        lines += (
            ["| score | value | autoencoder alone | target |", "|---|---|---|---|"]
            if ae
            else ["| score | value | target |", "|---|---|---|"]
        )
        for k, v in s.items():
            if isinstance(v, dict):
                continue
            if k in (
                "device",
                "model",
                "size",
                "clips",
                "quick",
                "dit_step",
                "dit_samples",
                "limit",
                "steps",
                "sampler",
                "guidance",
                "context_guidance",
                "detector",
            ):
                continue
            ceiling = f" {_fmt(k, ae[k]) if k in ae else ''} |" if ae else ""
            lines.append(f"| {k} | {_fmt(k, v)} |{ceiling} {_verdict(k, v)} |")
        lines.append("")
        if len(evals) > 1:
            keys = [
                "colour_accuracy",
                "shape_accuracy",
                "background_accuracy",
                "direction_accuracy",
                "camera_accuracy",
                "i2v_psnr_db",
                "i2v_follow",
                "flicker",
            ]
            lines += [
                "### Learning curve (evaluation against training)",
                "",
                "Every checkpoint scored by `eval --quick` with the same steps and sampler "
                "(each with its own config's chunk length); a row marked full scored the whole "
                "held-out set.",
                "",
                "| step | clips seen | " + " | ".join(keys) + " |",
                "|---" * (len(keys) + 2) + "|",
            ]
            for e in sorted(evals, key=lambda e: (e.step or 0, not e.scores.get("quick"))):
                seen = e.scores.get("dit_samples")
                lines.append(
                    f"| {e.step}{'' if e.scores.get('quick', True) else ' (full)'}"
                    f"{_unlike_headline(e.scores, s)} | "
                    f"{f'{seen:,}' if seen else '-'} | "
                    + " | ".join(_fmt(k, e.scores.get(k)) for k in keys)
                    + " |"
                )
            lines.append("")
            if any(e.scores.get("detector", 1) != s.get("detector", 1) for e in evals):
                lines += [
                    "A row marked with a detector was read by that earlier version of the "
                    "evaluation's detector (`VERSION` in `engine/data/detector.py`, which says "
                    "what changed); its scores compare only with rows of the same version.",
                    "",
                ]
    log_rows = _log_rows(model_dir / "training_log.jsonl")
    rebases = _rebases(log_rows)
    if rebases:
        lines += [
            f"At step {t} the transformer went on with a retrained autoencoder (its step {v}): "
            "scores and losses before it are of the earlier autoencoder's latents."
            for t, v in rebases
        ] + [""]
    curve = _curve(log_rows)
    if curve:
        lines += [
            "### Validation loss (EMA weights, fixed held-out batches)",
            "",
            "| step | val loss |",
            "|---|---|",
        ]
        picked = curve[:: max(1, len(curve) // 12)]
        if picked[-1] != curve[-1]:
            picked.append(curve[-1])
        lines += [f"| {step} | {loss:.4f} |" for step, loss in picked]
        lines.append("")
    if evals:
        s = _headline(evals).scores
        short = [
            k for k in TARGETS if s.get(k) is not None and not _verdict(k, s[k]).startswith("met")
        ]
        lines += ["## What it can and cannot do", ""]
        met = [k for k in TARGETS if s.get(k) is not None and k not in short]
        lines.append(f"- Meets its targets for: {', '.join(met) or 'none yet'}.")
        lines.append(f"- Falls short on: {', '.join(short) or 'nothing measured'} (see the table).")
        w, wo = s.get("consistency_with_context"), s.get("consistency_without_context")
        if w is not None and wo is not None:
            lines.append(
                f"- Scene consistency: {_fmt('consistency', w)} with carry-over/references against "
                f"{_fmt('consistency', wo)} without (ground truth {_fmt('consistency', s.get('consistency_ground_truth'))})."
            )
        follow = s.get("i2v_follow")
        if follow is not None:
            lines.append(
                f"- Start image: the frames after the first differ from the truth by "
                f"{_fmt('i2v_later_error', s.get('i2v_later_error'))} with it against "
                f"{_fmt('i2v_later_error', s.get('i2v_later_error_without'))} without "
                f"(the same prompt and seed): {follow:.2f}x closer "
                "(1.00x would mean the model ignores it)."
            )
        if s.get("i2v_psnr_db") is not None:
            lines.append(
                "- Image-to-video first-frame PSNR measures the autoencoder: the start frame "
                "passes through its encoder and decoder, untouched by the transformer."
            )
        capped = [k for k in TARGETS if k in ae and not _verdict(k, ae[k]).startswith("met")]
        if capped:
            lines.append(
                f"- The autoencoder alone falls short on {', '.join(capped)}: no transformer "
                "can pass it there. The autoencoder trains further with its objects weighted "
                "(`vae_object_weight`; the transformer then continues on the new latents), and "
                "its decoder alone on the frozen encoder (`--stage decoder`, which keeps the "
                "latents and so the transformer valid)."
            )
        seen, secs = totals.get("dit_samples", 0), totals.get("dit_seconds", 0)
        rate = (
            f" ({seen / secs:.1f} clips/s on {', '.join(totals.get('devices', []))})"
            if secs
            else ""
        )
        first = "a better autoencoder first (above), then " if capped else ""
        lines.append(
            f"- What closes the gaps: {first}more transformer samples. This model has seen {seen:,} "
            f"clips{rate}; in this project's probes colour alone took about 20,000 clips and shape "
            "and motion far more. The recipe is the same on a GPU (bf16, larger batches, about a "
            "thousand times a 2-core CPU's throughput), where an hour sees millions of clips: "
            "continue from these weights there (the command above)."
        )
        lines.append("")
    lines += [
        "## Reproduce",
        "```sh",
        "python -m engine train --config resources/models/storyloom-tiny/train_config.json "
        "--run-dir runs/tiny --minutes 120",
        "python -m engine eval --model runs/tiny/model --json --out eval.json",
        "python -m engine card --model runs/tiny/model --eval eval.json",
        "```",
        "",
    ]
    return "\n".join(lines)


def write(model_dir: Path, eval_files: list[Path]) -> Path:
    model_dir = Path(model_dir)
    text = render(model_dir, [EvalRun.load(p) for p in eval_files])
    out = model_dir / "MODEL_CARD.md"
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
