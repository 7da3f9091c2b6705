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


def same_encoder(mine: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> bool:
    """Whether `other` encodes as `mine` (same encoder and latent statistics: the latents a
    transformer learned are the same); decoders may differ."""
    return all(
        torch.equal(mine[k], v.to(mine[k].device))
        for k, v in other.items()
        if not k.startswith("decoder.")
    )


def tuned_before_transformer(decoder_totals: dict) -> bool:
    """Whether a decoder stage's record says it ran before any transformer of its run."""
    return not decoder_totals.get("dit_samples") and not decoder_totals.get("dit_seconds")


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
        fits = vae.keys() == tuned.keys() and same_encoder(vae, tuned)
        if not (tuned_before_transformer(dec_totals) and fits):
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
