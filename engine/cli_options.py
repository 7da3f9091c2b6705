"""Command-line options shared by the engine's commands (kept light: no torch, no numpy)."""

from __future__ import annotations

import argparse


def add_sampling_options(p: argparse.ArgumentParser) -> None:
    """Sampling overrides, so checkpoints with other defaults are compared like for like."""
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    p.add_argument("--sampler", choices=["euler", "multistep"], help="default: the model's")
