"""Backgrounds as functions of world coordinates, so a camera can look at any part of them.

Coordinates are in units of the frame height: X = x / H, Y = y / H, the un-moved view covering
X in [0, W/H], Y in [0, 1]. Every function takes X, Y tensors of one shape (...) and returns (..., 3)
floats in [0, 1]. Textured backgrounds use muted colours that stay more than ~70 RGB levels away from
every palette colour, so an object of a palette colour stands out (the detector relies on it).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.world_spec import BACKGROUNDS, CAMERA_MARGIN, PALETTE, Background

N_PARAMS = 16


@contextmanager
def one_cpu_thread(device: torch.device | str = "cpu"):
    """Rendering is many small memory-bound ops: on a busy CPU, extra intra-op threads only wait on
    each other (measured 14x slower with 2 threads on 2 shared cores), so the CPU renders on one."""
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _rgb(c: tuple[int, int, int], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(c, dtype=like.dtype, device=like.device) / 255.0


def _mix(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Per-pixel blend of two colours (3,) with weights (...) in [0, 1] -> (..., 3)."""
    w = w.clamp(0, 1)[..., None]
    return a * (1 - w) + b * w


def _noise(X: torch.Tensor, Y: torch.Tensor, p: tuple[float, ...], freq: float, k: int = 6):
    """Smooth pseudo-random field in about [-1, 1]: a sum of oriented sinusoids (seeded by p)."""
    out = torch.zeros_like(X)
    for i in range(k):
        theta = 2 * math.pi * p[i % N_PARAMS]
        phase = 2 * math.pi * p[(i + 5) % N_PARAMS]
        f = freq * (1.0 + 0.7 * i)
        out = out + torch.sin(f * (X * math.cos(theta) + Y * math.sin(theta)) + phase) / (
            1 + 0.5 * i
        )
    return out / 2.2


def _vertical(Y: torch.Tensor, stops: list[tuple[float, tuple[int, int, int]]]) -> torch.Tensor:
    """Piecewise-linear vertical gradient through (y, colour) stops."""
    out = _rgb(stops[0][1], Y).expand(*Y.shape, 3).clone()
    for (y0, c0), (y1, c1) in zip(stops[:-1], stops[1:], strict=True):
        w = ((Y - y0) / (y1 - y0)).clamp(0, 1)
        seg = _mix(_rgb(c0, Y), _rgb(c1, Y), w)
        out = torch.where((Y >= y0)[..., None], seg, out)
    return out


def _sky(Y: torch.Tensor) -> torch.Tensor:
    return _vertical(Y, [(0.0, (95, 150, 215)), (1.0, (175, 205, 235))])


def _gradient(name: str, X: torch.Tensor, Y: torch.Tensor, p: tuple[float, ...]) -> torch.Tensor:
    if name == "sky":
        return _sky(Y)
    if name == "sunset":
        return _vertical(Y, [(0.0, (70, 60, 120)), (0.55, (200, 110, 120)), (1.0, (240, 170, 90))])
    # night: dark blue, faint grey stars (too small and dull to pass for an object)
    out = _vertical(Y, [(0.0, (10, 15, 45)), (1.0, (35, 40, 80))])
    stars = (_noise(X, Y, p, 60.0, k=4) > 0.85).float() * 0.5
    return _mix(out, _rgb((150, 150, 170), Y), stars)


def _ground(name: str, X: torch.Tensor, Y: torch.Tensor, p: tuple[float, ...]) -> torch.Tensor:
    horizon = 0.5 + 0.2 * p[0]
    tex = _noise(X, Y, p, 25.0) * 0.5 + 0.5
    sky = _sky(Y / horizon)
    if name == "grass":
        ground = _mix(_rgb((120, 150, 80), Y), _rgb((100, 130, 70), Y), tex)
    elif name == "snow":
        ground = _mix(_rgb((225, 230, 240), Y), _rgb((205, 215, 230), Y), tex)
    elif name == "desert":
        ground = _mix(_rgb((205, 165, 105), Y), _rgb((190, 150, 95), Y), tex)
    else:  # beach: a band of sea, then sand
        sand = _mix(_rgb((215, 195, 150), Y), _rgb((200, 180, 140), Y), tex)
        sea = _mix(_rgb((70, 130, 160), Y), _rgb((60, 115, 150), Y), tex)
        ground = torch.where((Y < horizon + 0.15)[..., None], sea, sand)
    return torch.where((Y < horizon)[..., None], sky, ground)


def _landscape(name: str, X: torch.Tensor, Y: torch.Tensor, p: tuple[float, ...]) -> torch.Tensor:
    out = _sky(Y)
    if name == "hills":
        layers = [(150, 165, 130), (120, 140, 110), (95, 115, 95)]
    else:
        layers = [(150, 150, 175), (120, 125, 150), (100, 105, 125)]
    for i, colour in enumerate(layers):
        base = 0.35 + 0.18 * i
        q = p[i + 3 :] + p[: i + 3]
        ridge = _noise(X, torch.zeros_like(X), q, 4.0 + 2 * i, k=3)
        if name == "mountains":  # sharp peaks
            ridge = 1.0 - 2.0 * ridge.abs()
        top = base - (0.12 if name == "hills" else 0.2) * ridge
        shade = 0.08 * _noise(X, Y, q, 30.0, k=2)
        layer = _rgb(colour, Y) * (1 + shade[..., None])
        out = torch.where((Y > top)[..., None], layer, out)
    return out


def _texture(name: str, X: torch.Tensor, Y: torch.Tensor, p: tuple[float, ...]) -> torch.Tensor:
    if name == "clouds":
        n = (_noise(X, Y, p, 9.0) + 0.35 * _noise(X, Y, p[3:] + p[:3], 30.0, k=3)) * 0.5 + 0.5
        return _mix(_rgb((110, 150, 200), Y), _rgb((190, 200, 215), Y), (n - 0.3) * 2.5)
    if name == "bricks":
        bh = 0.08 + 0.04 * p[0]  # brick height in frame heights
        row = torch.floor(Y / bh)
        xs = X / (2.2 * bh) + 0.5 * (row % 2)
        mortar = ((Y / bh).frac() < 0.12) | (xs.frac() < 0.06)
        tone = 0.06 * torch.sin(row * 12.9898 + torch.floor(xs) * 78.233)[..., None]
        brick = _rgb((165, 95, 80), Y) * (1 + tone)
        return torch.where(mortar[..., None], _rgb((200, 195, 185), Y).expand_as(brick), brick)
    # tiles: a floor of two muted colours
    s = 0.12 + 0.06 * p[1]
    odd = ((torch.floor(X / s) + torch.floor(Y / s)) % 2)[..., None] > 0
    a, b = _rgb((150, 135, 160), Y), _rgb((105, 95, 120), Y)
    return torch.where(odd, a.expand(*X.shape, 3), b.expand(*X.shape, 3))


def _sample_image(img: torch.Tensor, u: torch.Tensor, v: torch.Tensor, mode: str) -> torch.Tensor:
    """Bilinear look-up of img (h, w, 3) at normalised coords u, v in [0, 1] (...) -> (..., 3)."""
    grid = torch.stack([u * 2 - 1, v * 2 - 1], dim=-1).reshape(1, -1, 1, 2)
    src = img.permute(2, 0, 1)[None].to(u)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode=mode, align_corners=False)
    return out[0, :, :, 0].T.reshape(*u.shape, 3)


@lru_cache(maxsize=1)
def photos() -> tuple[np.ndarray, ...]:
    """scikit-image's bundled colour photos when that optional package is installed, else none."""
    try:
        from skimage import data  # optional training extra
    except ImportError:
        return ()
    names = ("astronaut", "coffee", "chelsea", "rocket", "retina", "immunohistochemistry")
    out = []
    for n in names:
        try:
            img = getattr(data, n)()
        except Exception:  # a missing data file must not stop training
            continue
        if img.ndim == 3 and img.shape[2] >= 3:
            out.append(np.ascontiguousarray(img[..., :3]))
    return tuple(out)


def render_background(bg: Background, X: torch.Tensor, Y: torch.Tensor, aspect: float):
    """Colour (..., 3) of background `bg` at world coords X, Y; aspect = W / H of the frame."""
    p = tuple(bg.params) + (0.5,) * N_PARAMS
    if bg.kind == "solid":
        return _rgb(PALETTE[bg.name], X).expand(*X.shape, 3).clone()
    if bg.kind == "plain":  # params hold the RGB colour in [0, 1]
        return torch.tensor(p[:3], dtype=X.dtype, device=X.device).expand(*X.shape, 3).clone()
    if bg.kind == "gradient":
        return _gradient(bg.name, X, Y, p)
    if bg.kind == "ground":
        return _ground(bg.name, X, Y, p)
    if bg.kind == "landscape":
        return _landscape(bg.name, X, Y, p)
    if bg.kind == "texture":
        return _texture(bg.name, X, Y, p)
    if bg.kind in ("photo", "image"):
        img = bg.image if bg.kind == "image" else photos()[int(p[0] * len(photos()))]
        t = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).to(X.device)
        if bg.kind == "image":  # the un-moved view is exactly the image; beyond it, mirrored
            return _sample_image(t, X / aspect, Y, "reflection")
        # a photo is cropped to cover the view plus the camera margin at the frame's aspect
        m = CAMERA_MARGIN
        span_x, span_y = aspect * (1 + 2 * m), 1 + 2 * m
        h, w = t.shape[:2]
        fit = min(w / span_x, h / span_y)
        u = ((X + m * aspect) * fit + (w - span_x * fit) / 2) / w
        v = ((Y + m) * fit + (h - span_y * fit) / 2) / h
        return _sample_image(t, u, v, "border")
    raise ValueError(f"unknown background kind {bg.kind!r}")


@lru_cache(maxsize=64)
def background_colours(kind: str, name: str) -> np.ndarray:
    """(N, 3) uint8 sample of the colours a background shows (any params, camera margin)."""
    ys = torch.linspace(-CAMERA_MARGIN, 1 + CAMERA_MARGIN, 48)
    xs = torch.linspace(-CAMERA_MARGIN, 1.78 + CAMERA_MARGIN, 96)
    Y, X = torch.meshgrid(ys, xs, indexing="ij")
    rng = np.random.default_rng(0)
    out = []
    with one_cpu_thread():
        for _ in range(6):
            bg = Background(kind, name, tuple(rng.random(N_PARAMS)))
            out.append(render_background(bg, X, Y, 16 / 9).reshape(-1, 3))
    return (torch.cat(out).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


@lru_cache(maxsize=256)
def colours_far_from(kind: str, name: str, min_distance: float = 90.0) -> tuple[str, ...]:
    """Palette colours that stand out on this background (every pixel further than min_distance)."""
    if kind in ("photo", "image"):
        return tuple(PALETTE)
    px = background_colours(kind, name).astype(np.float32)
    ok = []
    for cname, rgb in PALETTE.items():
        d = np.sqrt(((px - np.array(rgb, np.float32)) ** 2).sum(-1)).min()
        if d > min_distance:
            ok.append(cname)
    return tuple(ok)


def background_names(with_photos: bool = False) -> list[tuple[str, str]]:
    out = [(k, n) for k, names in BACKGROUNDS.items() for n in names]
    if with_photos and photos():
        out.append(("photo", "photo"))
    return out
