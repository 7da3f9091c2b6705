"""Command-line options shared by the engine's commands (kept light: no torch, no numpy)."""

from __future__ import annotations

import argparse

# The sampling settings an evaluation records (each has an option below).
SAMPLING_KEYS = ("steps", "sampler", "guidance", "context_guidance", "guidance_min_sigma")


def add_sampling_options(p: argparse.ArgumentParser) -> None:
    """Sampling overrides, so checkpoints with other defaults are compared like for like."""
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    p.add_argument("--sampler", choices=["euler", "multistep"], help="default: the model's")
    p.add_argument("--guidance", type=float, help="text guidance scale (default: the model's)")
    p.add_argument(
        "--context-guidance",
        type=float,
        help="guidance on start image, references and carry-over (default: the model's)",
    )
    p.add_argument(
        "--guidance-min-sigma",
        type=float,
        metavar="S",
        help="guide only at noise levels >= S (0-1); below it one model call a step "
        "(default: the model's)",
    )


def add_eval_options(p: argparse.ArgumentParser) -> None:
    """`python -m engine eval` and `python -m engine.eval` take the same options."""
    p.add_argument("--model")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--out")
    p.add_argument(
        "--limit", type=int, help="score only the first N cases of each kind (smoke test)"
    )
    p.add_argument(
        "--kinds",
        metavar="K,K",
        help="score only these kinds of case, e.g. story (with its twins without context) or "
        "i2v,camera",
    )
    p.add_argument(
        "--case-set",
        choices=["held-out", "tuning", "check"],
        help="which fixed set of cases (default held-out: what the model card reports); tuning: "
        "for choosing sampling settings; check: for accepting a new model against the shipped "
        "one on cases that never chose anything",
    )
    p.add_argument(
        "--tuning",
        action="store_true",
        help="the same as --case-set tuning",
    )
    p.add_argument(
        "--save-clips",
        metavar="DIR",
        help="keep the generated clips (lossless) and a contact sheet of them in DIR",
    )
    p.add_argument(
        "--clips",
        metavar="DIR",
        help="score the clips an earlier --save-clips kept in DIR instead of generating",
    )
    p.add_argument(
        "--decode",
        metavar="DIR",
        help="decode the latents an earlier --save-clips kept in DIR with this model's decoder "
        "instead of generating (a decoder tuned since on the same encoder and transformer)",
    )
    p.add_argument(
        "--against",
        metavar="DIR",
        help="also compare case by case with the clips another model's --save-clips kept in DIR",
    )
    p.add_argument(
        "--autoencoder-only",
        action="store_true",
        help="score only the ground truth through the model's autoencoder (its ceiling), "
        "without generating: for judging a new autoencoder",
    )
    p.add_argument(
        "--against-model",
        metavar="DIR",
        help="with --autoencoder-only: also compare case by case with this model's autoencoder",
    )
    add_sampling_options(p)


def add_probe_options(p: argparse.ArgumentParser) -> None:
    """`python -m engine probe` (engine/eval_prompt.py)."""
    p.add_argument("--model")
    p.add_argument("--device", default="auto")
    p.add_argument("--clips", type=int, default=16, help="rendered clips per attribute")
    p.add_argument("--frames", type=int, default=25, help="frames per clip (1 + 4k)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--size",
        metavar="WxH",
        help="render the clips at this size instead of the model's native one, e.g. 128x80",
    )
    p.add_argument(
        "--start-image",
        action="store_true",
        help="image-to-video: give each clip's first frame (does the model read where it goes?)",
    )
    p.add_argument(
        "--attributes",
        metavar="A,A",
        help="a subset of colour,shape,background,motion,direction,camera,wording (the "
        "prompt) and previous,reference (the context)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", help="also write the JSON here")


def add_ablate_options(p: argparse.ArgumentParser) -> None:
    """`python -m engine ablate` (engine/ablation.py)."""
    p.add_argument("--name", required=True, help="the variant's name in the output rows")
    p.add_argument(
        "--dit",
        metavar="JSON",
        help='transformer keys over the small base {"width": 128, "depth": 4, "heads": 4, '
        '"pooled_text": true}, e.g. \'{"absolute_pos": true}\'',
    )
    p.add_argument(
        "--oracle",
        action="store_true",
        help="add a plain token naming each clip's direction (separates the prompt encoder "
        "from the video side)",
    )
    p.add_argument("--minutes", type=float, default=25.0)
    p.add_argument("--steps", type=int, help="stop after this many steps instead of minutes")
    p.add_argument("--clips", type=int, default=3200, help="training clips (encoded once)")
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--batch", type=int, default=24, help="clips per step")
    p.add_argument(
        "--i2v-share",
        type=float,
        default=0.5,
        help="share of steps with the start frame given (1: image-to-video only)",
    )
    p.add_argument(
        "--motion-weight",
        type=float,
        default=0.0,
        help="add this weight times the loss on frame-to-frame differences of the error",
    )
    p.add_argument(
        "--ref-share",
        type=float,
        default=0.0,
        help="share of steps given a reference still of the clip's character",
    )
    p.add_argument(
        "--attributes",
        metavar="A,A",
        default="direction,colour",
        help="what the probe rows ask: prompt attributes (direction, colour, shape, ...) and "
        "reference (own still against another clip's)",
    )
    p.add_argument("--model", help="the model folder whose autoencoder encodes the clips")
    p.add_argument("--device", default="auto")
    p.add_argument("--cache", help="a .safetensors file for the encoded training clips")
    p.add_argument("--out", help="append every probe row here (JSON lines)")
    p.add_argument(
        "--checkpoint",
        help="a .safetensors training state, saved at every probe row; a run goes on from it "
        "(--minutes counts the time before it too)",
    )


def case_set_of(a: argparse.Namespace) -> str:
    """The case set the options name; ValueError where --tuning and --case-set disagree."""
    chosen = getattr(a, "case_set", None)
    if getattr(a, "tuning", False):
        if chosen not in (None, "tuning"):
            raise ValueError(f"give --tuning or --case-set {chosen}, not both")
        return "tuning"
    return chosen or "held-out"
