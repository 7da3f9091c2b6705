"""Frame arrays: fitting images to the generation size, uint8 conversion, fps resampling."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from engine.request import EngineError


def as_rgb_uint8(img: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, 1|3|4) image array -> (H, W, 3) uint8."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            a = np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        else:
            a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4) or min(a.shape[:2]) < 1:
        raise EngineError(f"not an image array: shape {a.shape}")
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return a[..., :3]


def fit_image(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover (width, height) and centre-crop: a start image fills the frame."""
    a = as_rgb_uint8(img)
    h, w = a.shape[:2]
    if (w, h) == (width, height):
        return a
    s = max(width / w, height / h)
    nw, nh = max(width, round(w * s)), max(height, round(h * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    r = cv2.resize(a, (nw, nh), interpolation=interp)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(r[y0 : y0 + height, x0 : x0 + width])


def fit_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, H, W, 3) -> (T, height, width, 3) uint8; T is padded to 1 + 4k by holding the last."""
    out = np.stack([fit_image(f, width, height) for f in frames])
    extra = (-(out.shape[0] - 1)) % 4
    if extra:
        out = np.concatenate([out, np.repeat(out[-1:], extra, axis=0)])
    return out


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(..., 3) in [-1, 1] -> uint8 numpy."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


def resample_fps(frames: np.ndarray, fps_in: float, fps_out: float, n_out: int) -> np.ndarray:
    """Nearest-frame resampling in time (no invented in-between frames)."""
    idx = np.floor(np.arange(n_out) * fps_in / fps_out + 1e-6).astype(int)
    return frames[np.clip(idx, 0, frames.shape[0] - 1)]
