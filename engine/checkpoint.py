"""Model folders and training states: safetensors + JSON only, never pickle.

A model folder holds `config.json` (what to build, native size, sampling defaults, training
record) and `model.safetensors` (weights, keys prefixed `vae.` and `dit.`). A training state
adds the optimizer moments and counters so a run resumes exactly.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.request import EngineError

FORMAT = "storyloom-model"
FORMAT_VERSION = 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save_tensors(
    path: Path, tensors: dict[str, torch.Tensor], meta: dict | None = None
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        clean = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        save_file(clean, tmp, metadata={k: str(v) for k, v in (meta or {}).items()})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def read_config(model_dir: Path) -> dict:
    cfg_path = model_dir / "config.json"
    if not model_dir.is_dir():
        raise EngineError(f"model folder not found: {model_dir}")
    if not cfg_path.is_file():
        raise EngineError(f"model folder {model_dir} has no config.json")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise EngineError(
            f"model config {cfg_path} is not valid JSON ({e.msg if hasattr(e, 'msg') else e})"
        ) from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise EngineError(f"{cfg_path} is not a Storyloom model config")
    if int(cfg.get("format_version", 0)) > FORMAT_VERSION:
        raise EngineError(
            f"model {model_dir} needs a newer Storyloom (format {cfg['format_version']})"
        )
    return cfg


def read_weights(model_dir: Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    path = model_dir / "model.safetensors"
    if not path.is_file():
        raise EngineError(f"model folder {model_dir} has no model.safetensors")
    try:
        return load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise EngineError(
            f"model weights {path} are unreadable or truncated ({str(e).splitlines()[0]})"
        ) from None


def split_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        bad = (missing + wrong)[:3]
        raise EngineError(f"{what} weights do not match its config (e.g. {', '.join(bad)})")
    module.load_state_dict({k: state[k].to(own[k].dtype) for k in own}, strict=True)


def load_growing(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> set[str]:
    """Load `state` into `module`; parts the module lists in GROWABLE (no-op at initialisation)
    may be missing from it and keep their initial values. Returns the top-level names of the
    parts that were added this way."""
    growable = tuple(getattr(module, "GROWABLE", ()))
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    if any(not k.startswith(growable) for k in missing) or any(k not in own for k in state):
        module.load_state_dict(state)  # raises with the full list of what does not match
    module.load_state_dict(state, strict=False)
    return {k.split(".", 1)[0] for k in missing}


def flatten_optimizer(opt: torch.optim.Optimizer, prefix: str = "opt.") -> tuple[dict, dict]:
    """Optimizer state -> (tensors, json-able scalars), for a pickle-free training state."""
    sd = opt.state_dict()
    tensors, scalars = {}, {"param_groups": sd["param_groups"], "state": {}}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{prefix}{pid}.{k}"] = v
            else:
                scalars["state"].setdefault(str(pid), {})[k] = v
    return tensors, scalars


def unflatten_optimizer(
    opt: torch.optim.Optimizer, tensors: dict, scalars: dict, prefix: str = "opt."
) -> None:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        if not key.startswith(prefix):
            continue
        pid, name = key[len(prefix) :].split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    for pid, st in scalars.get("state", {}).items():
        state.setdefault(int(pid), {}).update(st)
    opt.load_state_dict({"state": state, "param_groups": scalars["param_groups"]})


def load_state_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise EngineError(
            f"training state {path} is unreadable ({str(e).splitlines()[0]})"
        ) from None
