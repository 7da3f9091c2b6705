"""A run's autoencoder, made ready on one machine, packed to start a transformer on another.

A GPU lease is short: an autoencoder trained (and its decoder tuned) beforehand on a CPU leaves
all of it to the transformer. The pack is the run's autoencoder stage without its optimizer
moments (a third of the size, so it travels with the prompt encoder): `state_vae.safetensors`
and `state_vae.json`, copied into a new run folder, are that run's autoencoder stage. A decoder
tuned on it before any transformer is folded in, its minutes kept on the record.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from engine import checkpoint as ckpt
from engine.request import EngineError


def _same_encoder(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Whether two autoencoder states encode alike (all but the decoder equal)."""
    return a.keys() == b.keys() and all(
        torch.equal(v, b[k]) for k, v in a.items() if not k.startswith("decoder.")
    )


def pack_autoencoder(run_dir: Path, out_dir: Path) -> dict:
    """Write the run's autoencoder stage, weights only, to out_dir; returns its meta."""
    state_path, meta_path = run_dir / "state_vae.safetensors", run_dir / "state_vae.json"
    if not state_path.is_file() or not meta_path.is_file():
        raise EngineError(f"{run_dir} has no autoencoder stage: train --stage vae there first")
    vae = ckpt.split_prefix(ckpt.load_state_file(state_path), "vae.")
    meta = json.loads(meta_path.read_text())
    totals, decoder_step = meta.get("totals", {}), None
    dec_path, dec_meta_path = run_dir / "state_decoder.safetensors", run_dir / "state_decoder.json"
    if dec_path.is_file() and dec_meta_path.is_file():
        dec_meta = json.loads(dec_meta_path.read_text())
        dec_totals = dec_meta.get("totals", {})
        tuned = ckpt.split_prefix(ckpt.load_state_file(dec_path), "vae.")
        # tuned for a transformer of this run, or for an earlier encoder: not this one's
        before = not dec_totals.get("dit_samples") and not dec_totals.get("dit_seconds")
        if not (before and _same_encoder(vae, tuned)):
            raise EngineError(
                f"{run_dir}'s decoder stage was not tuned on this autoencoder before a "
                "transformer: remove state_decoder.* to pack the autoencoder alone"
            )
        vae, totals, decoder_step = tuned, dec_totals, int(dec_meta["step"])
    spec = {}
    cfg_path = run_dir / "train_config.json"
    if cfg_path.is_file():
        spec = json.loads(cfg_path.read_text()).get("vae", {})
    packed = {
        "step": int(meta["step"]),
        "weights_only": True,  # resumed, the stage starts fresh optimizer moments
        "totals": totals,
        "vae": spec,
        "decoder_step": decoder_step,
        "packed_from": str(run_dir),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt.atomic_save_tensors(
        out_dir / "state_vae.safetensors", {"vae." + k: v for k, v in vae.items()}
    )
    ckpt.write_json(out_dir / "state_vae.json", packed)
    return packed
