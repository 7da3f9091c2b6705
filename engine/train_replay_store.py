"""The replay window kept on disk in a run folder, so that a resumed run reads the recent fresh
batches it replays instead of rendering and encoding them again.

A prepared batch is a pure function of its step, so a file holds exactly what rendering it again
would give: the resumed run stays exact, only faster. On a 2-core CPU a resume without it spent
8.2 s a step on data over its first 160 steps and 4.8 s over the next 160 (2026-12-07): the
window's batches from before the resume were in no memory cache. The store is an optimisation:
a file it cannot write or read is rendered instead, never a stopped run.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from engine.checkpoint import atomic_save_tensors, atomic_write_bytes
from engine.sequence import Context
from engine.train_steps import Prepared

_NAME = re.compile(r"^(\d{9})\.safetensors$")
IDENTITY = "identity.txt"
# Config keys that change how fast a batch is made, never what it holds.
SPEED_ONLY = (
    "replay_on_disk",
    "checkpoint_minutes",
    "data_workers",
    "prepare_ahead",
    "micro_tokens",
    "log_every",
    "val_every",
)


def batch_identity(cfg: dict, vae: torch.nn.Module, text_encoder_dir: Path) -> str:
    """A digest of what a prepared batch depends on beyond its step: the recipe, the
    autoencoder's weights (its latents) and the prompt encoder's weights (its states). A store
    made under another identity is cleared: a resumed run with a retrained autoencoder or a
    changed seed must render its batches anew, not read stale ones."""
    h = hashlib.sha256()
    recipe = {k: v for k, v in cfg.items() if k not in SPEED_ONLY}
    h.update(json.dumps(recipe, sort_keys=True).encode())
    for name, t in sorted(vae.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    with open(text_encoder_dir / "model.safetensors", "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def prepared_tensors(p: Prepared) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A prepared batch as named tensors and string metadata (for a safetensors file)."""
    t: dict[str, torch.Tensor] = {"z": p.z, "text": p.text, "text_mask": p.text_mask}
    for name in ("prev_valid", "ref_valid", "cover"):
        if getattr(p, name) is not None:
            t[name] = getattr(p, name)
    if p.ctx.start is not None:
        t["ctx.start"] = p.ctx.start
    if p.ctx.previous is not None:
        t["ctx.previous"] = p.ctx.previous
    refs = p.ctx.references
    for i, r in enumerate(refs or []):
        t[f"ctx.references.{i}"] = r
    meta = {
        "per_item": str(p.per_item),
        "continues": str(int(p.ctx.continues)),
        "references": "none" if refs is None else str(len(refs)),
    }
    return t, meta


def prepared_from(t: dict[str, torch.Tensor], meta: dict[str, str], device) -> Prepared:
    """The inverse of prepared_tensors, on `device`."""
    t = {k: v.to(device) for k, v in t.items()}
    n_refs = meta["references"]
    refs = None if n_refs == "none" else [t[f"ctx.references.{i}"] for i in range(int(n_refs))]
    ctx = Context(
        start=t.get("ctx.start"),
        previous=t.get("ctx.previous"),
        continues=meta["continues"] == "1",
        references=refs,
    )
    return Prepared(
        t["z"],
        ctx,
        t.get("prev_valid"),
        t.get("ref_valid"),
        t["text"],
        t["text_mask"],
        int(meta["per_item"]),
        t.get("cover"),
    )


class ReplayStore:
    """One safetensors file per fresh batch (named by its source step) in `folder`."""

    def __init__(self, folder: Path, device, identity: str) -> None:
        self.folder, self.device = folder, device
        self.error: str | None = None  # set once a write failed: the store then stops writing
        self._srcs: set[int] = set()
        try:  # a folder it cannot make or clear (a full disk, a file in its place): no store
            self._open(identity)
        except OSError as e:
            self._srcs.clear()
            self.error = f"{folder}: {e.strerror or e}"

    def _open(self, identity: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        ident = self.folder / IDENTITY
        stale = not ident.is_file() or ident.read_text().strip() != identity
        for f in self.folder.iterdir():
            m = _NAME.match(f.name)
            if m and not stale:
                self._srcs.add(int(m.group(1)))
            elif m or f.name.endswith(".tmp"):  # another identity's, or a write cut short
                f.unlink(missing_ok=True)
        if stale:
            atomic_write_bytes(ident, (identity + "\n").encode())

    def _path(self, src: int) -> Path:
        return self.folder / f"{src:09d}.safetensors"

    def __contains__(self, src: int) -> bool:
        return src in self._srcs

    def __len__(self) -> int:
        return len(self._srcs)

    def put(self, src: int, prepared: Prepared) -> None:
        if src in self._srcs or self.error is not None:
            return
        tensors, meta = prepared_tensors(prepared)
        try:
            atomic_save_tensors(self._path(src), tensors, meta)
        # a full disk: the run goes on rendering what it replays (safetensors reports a failed
        # write as its own error, not as an OSError)
        except (OSError, SafetensorError) as e:
            self.error = f"{self.folder}: {getattr(e, 'strerror', None) or e}"
            return
        self._srcs.add(src)

    def get(self, src: int) -> Prepared | None:
        """The stored batch, or None (not stored, or unreadable: then it is forgotten)."""
        if src not in self._srcs:
            return None
        try:
            with safe_open(str(self._path(src)), framework="pt", device="cpu") as f:
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
                meta = dict(f.metadata() or {})
            return prepared_from(tensors, meta, self.device)
        except (SafetensorError, OSError, ValueError, KeyError, RuntimeError):
            self._forget(src)
            return None

    def keep_from(self, src: int) -> None:
        """Delete the batches before `src`: replay never reaches back to them again."""
        for old in [s for s in self._srcs if s < src]:
            self._forget(old)

    def _forget(self, src: int) -> None:
        self._srcs.discard(src)
        self._path(src).unlink(missing_ok=True)
