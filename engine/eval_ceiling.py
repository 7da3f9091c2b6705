"""`eval --autoencoder-only`: the held-out ground truth through a model's autoencoder alone,
optionally case by case against another model's autoencoder.

Every clip a model makes leaves by its decoder, so these scores are the transformer's ceiling.
A new autoencoder (more latent channels, a decoder cycle) is judged by them before any
transformer is trained or rebased onto it: seconds to minutes on the CPU, not a full evaluation.
"""

from __future__ import annotations

import argparse
import sys

from engine.data import detector as D
from engine.eval import CEILING_KEYS, autoencoder_case_scores, ceiling_of, report
from engine.eval_paired import paired_comparison
from engine.request import EngineError


def autoencoder_report(a: argparse.Namespace, eng, cases: list) -> int:
    """Score the cases' ground truth through `eng`'s autoencoder (and `--against-model`'s)."""
    other = None
    if getattr(a, "against_model", None):
        from engine.pipeline import Engine

        try:  # loaded first: a wrong folder fails before minutes of scoring
            other = Engine.load(a.against_model, device=getattr(a, "device", "auto"))
        except EngineError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    mine = autoencoder_case_scores(eng, cases)
    names = sorted(mine)
    scores = {
        **ceiling_of(mine),
        "cases": len(names),
        "model": str(getattr(eng, "model_dir", a.model)),
        "latent_channels": eng.vae.config.latent_channels,
        "detector": D.VERSION,  # scores of different detector versions do not compare
    }
    if other is not None:
        theirs = autoencoder_case_scores(other, cases)
        scores["against"] = {
            "model": str(a.against_model),
            "scores": paired_comparison(
                CEILING_KEYS, [mine[n] for n in names], [theirs[n] for n in names]
            ),
        }
    report(a, scores, str(a.against_model) if other is not None else None)
    return 0
