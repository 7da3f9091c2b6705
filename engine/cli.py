"""`python -m engine ...`: generate, info, init, train, eval, probe, ablate, card, serve."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from engine.cli_options import (
    add_ablate_options,
    add_eval_options,
    add_probe_options,
    add_sampling_options,
)
from engine.request import Cancelled, EngineError, GenerationRequest

INIT_PRESETS = {
    # name: (VAEConfig overrides, DiT preset)
    "test": ({"preset": "tiny"}, "test"),
    "tiny": ({}, "tiny"),
    "small": ({}, "small"),
    "base": ({}, "base"),
    "mini": ({}, "mini"),
    "1b": ({}, "1b"),  # ~1B parameters: a GPU-sized config (the speed benchmark uses it)
}


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="generate a clip (or an image) from a prompt")
    p.add_argument("--prompt", required=True)
    p.add_argument("--negative-prompt", default="")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--seconds", type=float)
    g.add_argument("--frames", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--fps", type=float)
    add_sampling_options(p)
    p.add_argument("--seed", type=int)
    p.add_argument("--image", help="start image (image-to-video)")
    p.add_argument("--reference", action="append", default=[], help="element reference image")
    p.add_argument("--previous", help="previous scene's clip (carry-over)")
    p.add_argument("--carry-over-strength", type=float, default=1.0)
    p.add_argument("--model")
    p.add_argument("--device", default="auto")
    p.add_argument("-o", "--output", required=True, help="OUT.mp4 or OUT.png")


def cmd_generate(a) -> int:
    from engine.media_io import read_image, read_video, write_image, write_video
    from engine.pipeline import Engine

    out = Path(a.output)
    if out.suffix.lower() not in (".mp4", ".png", ".jpg", ".jpeg"):
        raise EngineError("output must end in .mp4, .png or .jpg")
    if not out.parent.exists():
        raise EngineError(f"output folder does not exist: {out.parent}")
    image = read_image(a.image) if a.image else None
    refs = [read_image(r) for r in a.reference]
    previous = read_video(a.previous)[0] if a.previous else None
    eng = Engine.load(a.model, device=a.device)
    frames = a.frames
    if out.suffix.lower() != ".mp4" and frames is None and a.seconds is None:
        frames = 1
    req = GenerationRequest(
        prompt=a.prompt,
        negative_prompt=a.negative_prompt,
        width=a.width or eng.native.width,
        height=a.height or eng.native.height,
        frames=frames,
        seconds=a.seconds if a.seconds is not None else 2.0,
        fps=a.fps,
        steps=a.steps,
        sampler=a.sampler,
        guidance=a.guidance,
        context_guidance=a.context_guidance,
        guidance_min_sigma=a.guidance_min_sigma,
        seed=a.seed,
        image=image,
        references=refs,
        previous=previous,
        carry_over_strength=a.carry_over_strength,
    )
    eng.check(req)
    if not eng.trained:
        print(
            "warning: this model is untrained (random weights): the output is noise",
            file=sys.stderr,
        )

    def progress(info):
        print(
            f"\rchunk {info.chunk + 1}/{info.chunks} step {info.step}/{info.steps}",
            end="",
            file=sys.stderr,
            flush=True,
        )

    t0 = time.time()
    clip = eng.generate(req, on_step=progress)
    print(file=sys.stderr)
    if out.suffix.lower() == ".mp4":
        write_video(out, clip.frames, clip.fps, metadata={"comment": json.dumps(clip.recipe)})
    else:
        write_image(out, clip.frames[0])
    print(
        f"{out}: {clip.frames.shape[0]} frames {clip.frames.shape[2]}x{clip.frames.shape[1]} "
        f"@ {clip.fps:g} fps, seed {clip.seed}, {time.time() - t0:.1f} s"
    )
    return 0


def cmd_info(a) -> int:
    import torch

    from engine.model_bundle import ModelBundle
    from engine.pipeline import pick_device
    from engine.resources_path import default_model_dir

    path = Path(a.model) if a.model else default_model_dir()
    bundle = ModelBundle.load(path)
    dev = pick_device("auto")
    info = {
        "model": str(path),
        "name": bundle.config.get("name"),
        "parameters": {
            "vae": sum(p.numel() for p in bundle.vae.parameters()),
            "dit": sum(p.numel() for p in bundle.dit.parameters()),
        },
        "native": bundle.config.get("native"),
        "sampling": bundle.config.get("sampling"),
        "vae": bundle.config.get("vae"),
        "dit": bundle.config.get("dit"),
        "training": bundle.config.get("training"),
        "device": dev.type,
        "torch": torch.__version__,
        "cuda_device": torch.cuda.get_device_name() if dev.type == "cuda" else None,
    }
    if a.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"model     {info['name']} ({path})")
        print(
            f"params    autoencoder {info['parameters']['vae']:,}  transformer {info['parameters']['dit']:,}"
        )
        print(f"native    {info['native']}")
        print(f"sampling  {info['sampling']}")
        print(f"training  {json.dumps(info['training'])}")
        print(f"device    {dev.type}  (torch {torch.__version__})")
    return 0


def cmd_init(a) -> int:
    from engine.model_bundle import ModelBundle, build_dit, build_vae
    from engine.models.vae import VAEConfig
    from engine.train_config import TrainConfig

    if a.config not in INIT_PRESETS:
        raise EngineError(f"unknown config {a.config!r} (one of {', '.join(INIT_PRESETS)})")
    vae_spec, dit_name = INIT_PRESETS[a.config]
    vae_dict = VAEConfig.tiny().to_dict() if vae_spec.get("preset") == "tiny" else dict(vae_spec)
    if a.config == "test":
        vae_dict["latent_channels"] = 4
    tc = TrainConfig(name=f"random-{a.config}", vae=vae_dict, dit=dit_name)
    import torch

    torch.manual_seed(a.seed)
    bundle = ModelBundle(build_vae(vae_dict), build_dit(dit_name), ModelBundle.make_config(tc))
    bundle.config["training"] = {"note": "randomly initialised: generates noise"}
    bundle.save(Path(a.output))
    print(f"wrote an untrained {a.config} model to {a.output}")
    return 0


def cmd_train(a) -> int:
    from engine.train import run
    from engine.train_config import TrainConfig

    cfg = TrainConfig.load(Path(a.config), a.set)
    if a.data:  # fine-tune or train on the user's own captioned footage
        if not Path(a.data).is_dir():
            raise EngineError(f"data folder not found: {a.data}")
        share = cfg.folder_share if a.folder_share is None else a.folder_share
        if not 0 < share <= 1:
            raise EngineError(f"--folder-share must be in (0, 1], got {share:g}")
        cfg = dataclasses.replace(cfg, data_folder=str(Path(a.data).resolve()), folder_share=share)
    run_dir = Path(a.run_dir) if a.run_dir else Path(a.config).resolve().parent / "run"
    model = run(
        cfg,
        run_dir,
        a.stage,
        a.minutes,
        a.resume,
        a.device if a.device != "auto" else _auto(),
        init_from=Path(a.init_from) if a.init_from else None,
        stop_at=a.stop_at,
        fit=a.fit_schedule,
        live_to=Path(a.live_to) if a.live_to else None,
    )
    print(f"model written to {model}")
    return 0


def _auto() -> str:
    from engine.pipeline import pick_device

    return pick_device("auto").type


def cmd_eval(a) -> int:
    from engine.eval import main as eval_main

    return eval_main(a)


def cmd_probe(a) -> int:
    from engine.eval_prompt import main as probe_main

    return probe_main(a)


def cmd_ablate(a) -> int:
    from engine.ablation import main as ablate_main

    return ablate_main(a)


def cmd_card(a) -> int:
    from engine.model_card import write
    from engine.resources_path import default_model_dir

    out = write(Path(a.model) if a.model else default_model_dir(), [Path(p) for p in a.eval])
    print(f"wrote {out}")
    return 0


def cmd_text_pack(a) -> int:
    from engine.data.captions import caption_vocabulary
    from engine.models.text import write_pack

    out = write_pack(Path(a.output), caption_vocabulary())
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"wrote {out} ({size:.1f} MB): the prompt encoder for the story world's words")
    return 0


def cmd_pack_autoencoder(a) -> int:
    from engine.autoencoder_pack import pack_autoencoder

    out = Path(a.output)
    meta = pack_autoencoder(Path(a.run_dir), out)
    size = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    tuned = f", decoder tuned {meta['decoder_step']} steps" if meta["decoder_step"] else ""
    print(f"wrote {out} ({size:.1f} MB): autoencoder step {meta['step']}{tuned}")
    return 0


def cmd_average(a) -> int:
    from engine.average import average_models

    done = average_models([Path(m) for m in a.models], Path(a.output), a.shares)
    parts = ", ".join(
        f"{e['model']} (step {e['dit_steps_done']}, {e['share']:.2f})" for e in done["averaged"]
    )
    print(f"wrote {a.output}: the transformer's mean of {parts}")
    return 0


def cmd_serve(a) -> int:
    from engine.serve import main as serve_main

    return serve_main(a)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m engine", description="Storyloom's generation engine"
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    _add_generate(sub)
    p = sub.add_parser("info", help="model config, parameters, training record, device")
    p.add_argument("--model")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("init", help="write a randomly initialised model folder")
    p.add_argument("--config", default="tiny")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("train", help="train a model from a training config")
    p.add_argument("--config", required=True)
    p.add_argument(
        "--stage",
        default="all",
        choices=["vae", "dit", "decoder", "all"],
        help="decoder: fine-tune the autoencoder's decoder on its frozen encoder",
    )
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--stop-at",
        type=int,
        metavar="STEP",
        help="end the transformer's (or the decoder's) stage at this step, its checkpoint and "
        "model folder written: --resume goes on from it",
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--run-dir")
    p.add_argument(
        "--live-to",
        metavar="DIR",
        help="also write the transformer's live weights (not its EMA), with the run's recipe, "
        "as a model folder: --init-from DIR goes on where this run stopped when its checkpoint "
        "is gone",
    )
    p.add_argument(
        "--init-from",
        help="continue this model folder's transformer: its weights, step count and log",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the config (VALUE in JSON), e.g. --set tokens_per_batch=32768",
    )
    p.add_argument(
        "--fit-schedule",
        action="store_true",
        help="end the transformer's schedule (dit_steps) when --minutes end, at the measured "
        "step rate: a fixed time on a machine of unknown speed",
    )
    p.add_argument("--data", help="a folder of your own videos/images with .txt captions beside")
    p.add_argument(
        "--folder-share", type=float, help="share of steps from --data (default 1: only it)"
    )
    p = sub.add_parser("eval", help="score a model on the story world's held-out set")
    add_eval_options(p)
    p = sub.add_parser(
        "probe",
        help="how much the model reads each part of its prompt (colour, shape, direction, ...): "
        "loss with true against altered captions per noise level; no generating",
    )
    add_probe_options(p)
    p = sub.add_parser(
        "ablate",
        help="train a small transformer variant from scratch on cached world latents and probe "
        "what of its prompt it reads as it learns (compare variants at equal samples)",
    )
    add_ablate_options(p)
    p = sub.add_parser("card", help="write a model folder's MODEL_CARD.md from its files")
    p.add_argument("--model")
    p.add_argument("--eval", nargs="*", default=[], help="JSON files of `eval --out`")
    p = sub.add_parser(
        "text-pack",
        help="the prompt encoder cut down to the story world's words, in fp16, for a machine "
        "without its package (name the folder in $STORYLOOM_TEXT_ENCODER_DIR)",
    )
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser(
        "pack-autoencoder",
        help="a run's autoencoder stage (its tuned decoder folded in) without optimizer moments: "
        "copied into another run folder, a transformer starts or is rebased on it there",
    )
    p.add_argument("run_dir")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser(
        "average",
        help="the mean of the transformers of several model folders on one autoencoder (runs "
        "that continue one another): a longer-horizon EMA, to evaluate before shipping",
    )
    p.add_argument("models", nargs="+", help="model folders")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--shares", type=float, nargs="+", help="one weight per folder (default: equal)")
    p = sub.add_parser("serve", help="run the engine's HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token")
    p.add_argument("--model")
    p.add_argument("--device", default="auto")
    return ap


COMMANDS = {
    "generate": cmd_generate,
    "info": cmd_info,
    "init": cmd_init,
    "train": cmd_train,
    "eval": cmd_eval,
    "serve": cmd_serve,
    "card": cmd_card,
    "probe": cmd_probe,
    "ablate": cmd_ablate,
    "text-pack": cmd_text_pack,
    "pack-autoencoder": cmd_pack_autoencoder,
    "average": cmd_average,
}


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return COMMANDS[a.cmd](a)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except EngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
