"""The clips an evaluation generated, kept: `eval --save-clips DIR` writes them losslessly with a
contact sheet a person can look at, and `eval --clips DIR` scores them again without generating
(a changed detector or score costs seconds, not the 25 minutes of a full run on 2 cores)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from engine.checkpoint import write_json
from engine.data.eval_cases import CASE_SETS
from engine.media_io import write_image
from engine.request import EngineError

CLIPS = "clips.npz"
LATENTS = "latents.npz"  # the generated latents, for decoding again with a tuned decoder
META = "clips.json"
SHEET = "contact_sheet.png"


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Compressed arrays by name, written to a temporary file and renamed (never half a file)."""
    tmp = path.with_name(f".{path.name}.partial")
    with tmp.open("wb") as f:  # a file object: numpy would append .npz to a temporary name
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)


def save_clips(folder: str | Path, names: list[str], clips: list[np.ndarray], meta: dict) -> None:
    """Write clips (T, H, W, 3) uint8 keyed by case name, and what made them (`meta`)."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    _write_npz(d / CLIPS, dict(zip(names, clips, strict=True)))
    write_json(d / META, {**meta, "cases": names})


def save_latents(folder: str | Path, names: list[str], latents: list[np.ndarray]) -> None:
    """Write each clip's generated latents (C, t, h, w) float32, keyed by case name."""
    _write_npz(Path(folder) / LATENTS, dict(zip(names, latents, strict=True)))


def load_latents(folder: str | Path, names: list[str]) -> list[np.ndarray]:
    """The kept latents of these cases, in order."""
    d = Path(folder)
    try:
        with np.load(d / LATENTS, allow_pickle=False) as z:
            missing = [n for n in names if n not in z.files]
            if missing:
                raise EngineError(
                    f"{d} has no latents for {len(missing)} case(s), e.g. {missing[0]}: "
                    "were they saved with other --quick, --limit, --kinds or --case-set?"
                )
            return [z[n] for n in names]
    except (OSError, ValueError) as e:
        raise EngineError(f"cannot read kept latents in {d}: {e}") from e


def add_to_meta(folder: str | Path, extra: dict) -> None:
    """Add keys to the metadata of clips saved in `folder` (what was learned after saving)."""
    write_json(Path(folder) / META, {**read_meta(folder), **extra})


def read_meta(folder: str | Path) -> dict:
    """What made the clips saved in `folder`."""
    d = Path(folder)
    try:
        return json.loads((d / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EngineError(f"cannot read saved clips in {d}: {e}") from e


def case_set_meta(case_set: str) -> dict:
    """What kept clips record of the cases they were made for."""
    return {"case_set": case_set, "case_set_version": CASE_SETS[case_set].version}


def check_case_set(folder: str | Path, meta: dict, case_set: str) -> None:
    """Refuse clips kept for another case set, or another version of this one: the same case
    names would then be other scenes. Clips kept before sets were recorded are version 1 of the
    set their names belong to (a wrong set's names are missing anyway)."""
    saved = meta.get("case_set", case_set), meta.get("case_set_version", 1)
    wanted = case_set, CASE_SETS[case_set].version
    if saved != wanted:
        raise EngineError(
            f"the clips in {folder} were made for version {saved[1]} of the {saved[0]} set, "
            f"not version {wanted[1]} of the {wanted[0]} set: generate them again"
        )


def load_clips(
    folder: str | Path, names: list[str], case_set: str | None = None
) -> tuple[list[np.ndarray], dict]:
    """The saved clips of these cases, in order, and the saved metadata; with `case_set`, only
    clips kept for that set's current version."""
    d = Path(folder)
    meta = read_meta(d)
    if case_set is not None:
        check_case_set(d, meta, case_set)
    try:
        with np.load(d / CLIPS, allow_pickle=False) as z:  # never unpickle a file from elsewhere
            missing = [n for n in names if n not in z.files]
            if missing:
                raise EngineError(
                    f"{d} has no clip for {len(missing)} case(s), e.g. {missing[0]}: "
                    "were they saved with other --quick, --limit, --kinds or --case-set?"
                )
            clips = [z[n] for n in names]
    except (OSError, ValueError, json.JSONDecodeError) as e:
        raise EngineError(f"cannot read saved clips in {d}: {e}") from e
    return clips, meta


def contact_sheet(
    names: list[str], clips: list[np.ndarray], truths: list[np.ndarray]
) -> np.ndarray:
    """(H, W, 3) uint8: one row per clip of its first, middle and last frames beside the ground
    truth's, each labelled."""
    rows = []
    for name, clip, truth in zip(names, clips, truths, strict=True):
        idx = [0, len(clip) // 2, len(clip) - 1]
        tiles = [clip[i] for i in idx] + [truth[min(i, len(truth) - 1)] for i in idx]
        h = tiles[0].shape[0]
        gap = np.full((h, 4, 3), 255, np.uint8)
        row = np.concatenate(
            [t for tile in tiles[:3] for t in (tile, gap)]
            + [np.full((h, 8, 3), 0, np.uint8)]
            + [t for tile in tiles[3:] for t in (tile, gap)],
            1,
        )
        label = np.full((18, row.shape[1], 3), 255, np.uint8)
        cv2.putText(label, f"{name}: model | truth", (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 0, 1)
        rows.append(np.concatenate([label, row], 0))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, 0)


def write_contact_sheet(folder: str | Path, names, clips, truths) -> Path:
    p = Path(folder) / SHEET
    write_image(p, contact_sheet(names, clips, truths))
    return p
