"""A model: autoencoder + transformer + the config that says how to use them."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from engine import checkpoint as ckpt
from engine.models.dit import DIT_CONFIGS, DiT, DiTConfig
from engine.models.vae import VAEConfig, VideoVAE
from engine.request import EngineError


def build_vae(spec: dict) -> VideoVAE:
    return VideoVAE(VAEConfig.from_dict(spec))


def dit_config(spec: str | dict) -> DiTConfig:
    if isinstance(spec, str):
        if spec not in DIT_CONFIGS:
            raise EngineError(f"unknown DiT config {spec!r} (one of {', '.join(DIT_CONFIGS)})")
        return DIT_CONFIGS[spec]
    return DiTConfig.from_dict(spec)


def build_dit(spec: str | dict) -> DiT:
    return DiT(dit_config(spec))


def recipe_dit_config(tc) -> DiTConfig:
    """A training config's transformer, reading the latent channels of its autoencoder: a
    config that retrains the autoencoder with more channels need not say so twice. A
    transformer spec that names another channel count than the autoencoder's is an error."""
    dc = dit_config(tc.dit)
    channels = VAEConfig.from_dict(tc.vae).latent_channels
    named = tc.dit.get("latent_channels") if isinstance(tc.dit, dict) else None
    if named is not None and named != channels:
        raise EngineError(
            f"the config's transformer reads {named} latent channels and its autoencoder "
            f"makes {channels}: drop dit.latent_channels, or make them agree"
        )
    return dataclasses.replace(dc, latent_channels=channels)


def _vae_dict(vae: VideoVAE) -> dict:
    return vae.config.to_dict()


@dataclass
class ModelBundle:
    vae: VideoVAE
    dit: DiT
    config: dict

    @staticmethod
    def make_config(tc, record: dict | None = None) -> dict:
        """The model's config.json, from a TrainConfig."""
        return {
            "format": ckpt.FORMAT,
            "format_version": ckpt.FORMAT_VERSION,
            "name": tc.name,
            "vae": dict(tc.vae),
            "dit": recipe_dit_config(tc).to_dict(),
            "text_encoder": "all-MiniLM-L6-v2",
            "native": {"width": tc.native_width, "height": tc.native_height, "fps": tc.native_fps},
            "chunk_latents": tc.chunk_latents,
            "previous_frames": tc.previous_frames,
            "sampling": {
                "steps": tc.steps,
                "sampler": tc.sampler,
                "guidance": tc.guidance,
                "context_guidance": tc.context_guidance,
                "guidance_min_sigma": tc.guidance_min_sigma,
            },
            "training": dict(record or {}),
        }

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> ModelBundle:
        model_dir = Path(model_dir)
        cfg = ckpt.read_config(model_dir)
        try:
            vae, dit = build_vae(cfg["vae"]), build_dit(cfg["dit"])
        except (KeyError, TypeError) as e:
            raise EngineError(
                f"model config {model_dir / 'config.json'} is incomplete ({e})"
            ) from None
        state = ckpt.read_weights(model_dir, device="cpu")
        ckpt.load_into(vae, ckpt.split_prefix(state, "vae."), "autoencoder")
        ckpt.load_into(dit, ckpt.split_prefix(state, "dit."), "transformer")
        return cls(vae.eval().to(device), dit.eval().to(device), cfg)

    def save(self, model_dir: Path, log: Path | None = None, half: bool = True) -> None:
        """Weights as fp16 safetensors (half the size; loads into fp32), config, training log."""
        model_dir = Path(model_dir)
        tensors = {}
        for prefix, m in (("vae.", self.vae), ("dit.", self.dit)):
            for k, v in m.state_dict().items():
                v = v.detach().float().cpu()
                tensors[prefix + k] = v.half() if half and v.is_floating_point() else v
        ckpt.atomic_save_tensors(model_dir / "model.safetensors", tensors)
        self.config["vae"] = _vae_dict(self.vae)
        self.config["weights_sha256"] = sha256_file(model_dir / "model.safetensors")
        self.config["parameters"] = {
            "vae": sum(p.numel() for p in self.vae.parameters()),
            "dit": sum(p.numel() for p in self.dit.parameters()),
        }
        ckpt.write_json(model_dir / "config.json", self.config)
        if log is not None and log.is_file():
            tmp = model_dir / ".training_log.jsonl.tmp"
            shutil.copyfile(log, tmp)
            tmp.replace(model_dir / "training_log.jsonl")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def count_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
