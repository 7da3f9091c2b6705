"""Vectorised torch renderer of scene specs: backgrounds through a camera, then patterned shapes.

Objects are drawn into a square window around each object per frame (the same window size for the
whole batch), gathered from and written back to the video with broadcast advanced indexing, so the
cost scales with the objects' area, not the frame's. Runs on any torch device; same result on each
up to float rounding (all randomness is in the specs).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.backgrounds import one_cpu_thread, render_background
from engine.data.world_spec import EXTENT, SceneSpec

STAR_OUTER, STAR_INNER = 1.2, 0.5
TRIANGLE_R = 1.15
RIM = (
    0.18  # the pattern keeps off a rim of this many radii, so the silhouette is in the main colour
)


# ---------------------------------------------------------------- shapes (unit coords, y down)
def shape_sdf(shape: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Signed distance (in radii, negative inside) of a unit-size shape."""
    if shape == "circle":
        return torch.sqrt(u * u + v * v) - 1.0
    if shape == "ring":
        rho = torch.sqrt(u * u + v * v)
        return torch.maximum(rho - 1.0, 0.55 - rho)
    if shape == "square":
        return torch.maximum(u.abs(), v.abs()) - 0.85
    if shape == "triangle":  # pointing up; edge normals at 90, -30 and 210 degrees
        d = None
        for deg in (90.0, -30.0, 210.0):
            a = math.radians(deg)
            e = u * math.cos(a) + v * math.sin(a)
            d = e if d is None else torch.maximum(d, e)
        return d - TRIANGLE_R / 2
    if shape == "star":  # fold into one 36-degree wedge and measure against one edge
        sector = 2 * math.pi / 5
        phi = torch.remainder(torch.atan2(v, u) + math.pi / 2, sector) - sector / 2
        rho = torch.sqrt(u * u + v * v)
        qx, qy = rho * torch.cos(phi), rho * torch.sin(phi).abs()
        ax, bx, by = (
            STAR_OUTER,
            STAR_INNER * math.cos(sector / 2),
            STAR_INNER * math.sin(sector / 2),
        )
        ex, ey = bx - ax, by
        n = math.hypot(ex, ey)
        return ((qx - ax) * ey - qy * ex) / n
    if shape == "cross":
        a = torch.maximum(u.abs() - 1.0, v.abs() - 0.34)
        b = torch.maximum(u.abs() - 0.34, v.abs() - 1.0)
        return torch.minimum(a, b)
    raise ValueError(f"unknown shape {shape!r}")


def pattern_index(pattern: str, u, v, params: torch.Tensor) -> torch.Tensor:
    """Which colour (0 = main, 1-4 = pattern colours) each point shows. params (n, 4) broadcast."""
    ang, f, pu, pv = (params[:, i].view(-1, *([1] * (u.dim() - 1))) for i in range(4))
    s = u * torch.cos(ang) + v * torch.sin(ang)
    if pattern == "stripes":
        return ((s * f + pu).frac() < 0.3).long()
    if pattern == "two_tone":
        return (s > 0.2).long()
    gu, gv = u * f + pu + 8.0, v * f + pv + 8.0  # +8 keeps frac() on positive numbers
    if pattern == "dots":
        return (((gu.frac() - 0.5) ** 2 + (gv.frac() - 0.5) ** 2) < 0.28**2).long()
    if pattern == "checks":
        even = (torch.floor(gu) + torch.floor(gv)) % 2 == 0
        inset = ((gu.frac() - 0.5).abs() < 0.35) & ((gv.frac() - 0.5).abs() < 0.35)
        return (even & inset).long()
    # confetti: four blobs around the centre, each in its own colour
    out = torch.zeros_like(u, dtype=torch.long)
    for k in range(4):
        a = ang + k * math.pi / 2
        d2 = (u - 0.5 * torch.cos(a)) ** 2 + (v - 0.5 * torch.sin(a)) ** 2
        out = torch.where(d2 < 0.3**2, torch.full_like(out, k + 1), out)
    return out


# ---------------------------------------------------------------- backgrounds
def _pixel_grid(H: int, W: int, dev) -> tuple[torch.Tensor, torch.Tensor]:
    ys = (torch.arange(H, device=dev, dtype=torch.float32) + 0.5)[:, None].expand(H, W)
    xs = (torch.arange(W, device=dev, dtype=torch.float32) + 0.5)[None, :].expand(H, W)
    return xs, ys


def _through_camera(spec: SceneSpec, H: int, W: int, dev) -> torch.Tensor:
    """(T, H, W, 3) background seen through a moving camera.

    Procedural backgrounds are evaluated once on a canvas covering every view, then resampled per
    frame; images are sampled directly from their pixels."""
    xs, ys = _pixel_grid(H, W, dev)
    cam = spec.camera_track  # (T, 3): offset x, offset y, zoom
    c = torch.as_tensor(cam, dtype=torch.float32, device=dev)[:, :, None, None]  # (T, 3, 1, 1)
    wx = (xs - W / 2) / c[:, 2] + W / 2 + c[:, 0]  # screen -> world pixels, (T, H, W)
    wy = (ys - H / 2) / c[:, 2] + H / 2 + c[:, 1]
    bg = spec.background
    if bg.kind in ("image", "photo"):
        return render_background(bg, wx / H, wy / H, W / H)
    half_w, half_h = W / 2 / cam[:, 2], H / 2 / cam[:, 2]
    x0, x1 = float((W / 2 - half_w + cam[:, 0]).min()), float((W / 2 + half_w + cam[:, 0]).max())
    y0, y1 = float((H / 2 - half_h + cam[:, 1]).min()), float((H / 2 + half_h + cam[:, 1]).max())
    dens = float(min(max(cam[:, 2].max(), 1.0), 2.0))  # canvas pixels per world pixel
    cw, ch = int(np.ceil((x1 - x0) * dens)) + 2, int(np.ceil((y1 - y0) * dens)) + 2
    cx = x0 + (torch.arange(cw, device=dev, dtype=torch.float32) + 0.5) / dens
    cy = y0 + (torch.arange(ch, device=dev, dtype=torch.float32) + 0.5) / dens
    CY, CX = torch.meshgrid(cy, cx, indexing="ij")
    canvas = render_background(bg, CX / H, CY / H, W / H)  # (ch, cw, 3)
    gx = (wx - x0) * dens / cw * 2 - 1
    gy = (wy - y0) * dens / ch * 2 - 1
    grid = torch.stack([gx, gy], -1).reshape(1, -1, W, 2)  # all frames stacked along height
    src = canvas.permute(2, 0, 1)[None]
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0].reshape(3, -1, H, W).permute(1, 2, 3, 0)


def _backgrounds(specs: list[SceneSpec], video: torch.Tensor) -> None:
    """Fill video (B, T, H, W, 3) with each spec's background seen through its camera."""
    B, T, H, W, _ = video.shape
    dev = video.device
    xs, ys = _pixel_grid(H, W, dev)
    for b, spec in enumerate(specs):
        cam = spec.camera_track
        if np.allclose(cam, cam[:1]) and np.allclose(cam[0], [0, 0, 1]):
            video[b] = render_background(spec.background, xs / H, ys / H, W / H)
        else:
            video[b] = _through_camera(spec, H, W, dev)


# ---------------------------------------------------------------- objects
def _object_tables(specs: list[SceneSpec], slot: int, dev):
    """Per item: screen track (B, T, 4), present (B,), colours (B, 5, 3), params (B, 4)."""
    B, T = len(specs), specs[0].frames
    track = np.zeros((B, T, 4))
    present = np.zeros(B, bool)
    colours = np.zeros((B, 5, 3), np.float32)
    params = np.zeros((B, 4), np.float32)
    for b, spec in enumerate(specs):
        if slot < len(spec.looks):
            lk = spec.looks[slot]
            track[b] = spec.screen_tracks()[slot]
            present[b] = True
            colours[b, 0] = lk.rgb()
            colours[b, 1:] = np.asarray(lk.pattern_colours, np.float32)
            params[b] = lk.pattern_params
    track[~present, :, 2] = 1.0
    return track, present, colours, params


def _draw_group(
    looks, track, colours, params, items, S: int, video: torch.Tensor, cover: torch.Tensor | None
) -> None:
    """Draw one object into items (n,) of video, in S x S windows around it per frame; where
    `cover` (B, T, H, W) is given, it accumulates the object's coverage there too."""
    _, T, H, W, _ = video.shape
    dev = video.device
    n = len(items)
    tr = torch.as_tensor(track, dtype=torch.float32, device=dev)  # (n, T, 4)
    cx, cy, r, ang = tr.unbind(-1)  # (n, T) each
    x0 = torch.floor(cx - S / 2).clamp(0, W - S).long()  # windows stay inside the frame
    y0 = torch.floor(cy - S / 2).clamp(0, H - S).long()
    ar = torch.arange(S, device=dev)
    rows, cols = y0[..., None] + ar, x0[..., None] + ar  # (n, T, S)
    py = (rows + 0.5 - cy[..., None])[..., :, None]  # (n, T, S, 1)
    px = (cols + 0.5 - cx[..., None])[..., None, :]  # (n, T, 1, S)
    cos, sin, rr = (
        torch.cos(ang)[..., None, None],
        torch.sin(ang)[..., None, None],
        r[..., None, None],
    )
    u = (px * cos + py * sin) / rr  # (n, T, S, S) object coordinates in radii
    v = (-px * sin + py * cos) / rr
    sdf = torch.empty_like(u)
    idx = torch.empty_like(u, dtype=torch.long)
    pt = torch.as_tensor(params, device=dev)
    for name in sorted({lk.shape for lk in looks}):
        ii = torch.as_tensor([k for k, lk in enumerate(looks) if lk.shape == name], device=dev)
        sdf[ii] = shape_sdf(name, u[ii], v[ii])
    for name in sorted({lk.pattern for lk in looks}):
        ii = torch.as_tensor([k for k, lk in enumerate(looks) if lk.pattern == name], device=dev)
        idx[ii] = pattern_index(name, u[ii], v[ii], pt[ii])
    # the pattern keeps off a rim at least 2 px wide, so the main colour outlines the silhouette
    rims = torch.tensor([0.08 if lk.shape == "ring" else RIM for lk in looks], device=dev)
    rims = torch.maximum(rims.view(n, 1, 1, 1), 2.0 / rr)
    idx = torch.where(-sdf > rims, idx, torch.zeros_like(idx))
    alpha = (0.5 - sdf * rr).clamp(0, 1)[..., None]  # 1-pixel anti-aliased edge
    ct = torch.as_tensor(colours, device=dev)  # (n, 5, 3)
    col = torch.gather(ct, 1, idx.view(n, -1, 1).expand(-1, -1, 3)).view(n, T, S, S, 3)
    bi = torch.as_tensor(items, device=dev).view(n, 1, 1, 1)
    ti = torch.arange(T, device=dev).view(1, T, 1, 1)
    ri, ci = rows[..., :, None], cols[..., None, :]
    old = video[bi, ti, ri, ci]  # (n, T, S, S, 3)
    video[bi, ti, ri, ci] = old + (col - old) * alpha
    if cover is not None:
        cover[bi, ti, ri, ci] = torch.maximum(cover[bi, ti, ri, ci], alpha[..., 0])


def _draw_slot(
    specs: list[SceneSpec], slot: int, video: torch.Tensor, cover: torch.Tensor | None
) -> None:
    """Draw every item's object number `slot`, grouping items by the window size they need."""
    _, _, H, W, _ = video.shape
    track, present, colours, params = _object_tables(specs, slot, video.device)
    reach = (EXTENT * track[..., 2]).max(axis=1)  # (B,) the farthest a shape reaches, over time
    sizes = np.minimum(8 * np.ceil((2 * reach + 4) / 8), min(H, W)).astype(int)
    for S in sorted(set(sizes[present].tolist())):
        items = np.nonzero(present & (sizes == S))[0]
        looks = [specs[b].looks[slot] for b in items]
        _draw_group(looks, track[items], colours[items], params[items], items, int(S), video, cover)


def render(specs: list[SceneSpec], device: str | torch.device = "cpu") -> torch.Tensor:
    """(B, T, H, W, 3) float32 in [0, 1]; all specs must share width, height and frame count."""
    return render_with_coverage(specs, device, coverage=False)[0]


def render_with_coverage(
    specs: list[SceneSpec], device: str | torch.device = "cpu", coverage: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`render`, and with coverage (B, T, H, W) in [0, 1]: how much of each pixel the scene's
    objects cover (the world knows where its characters are; training can weight them)."""
    W, H, T = specs[0].width, specs[0].height, specs[0].frames
    if any((s.width, s.height, s.frames) != (W, H, T) for s in specs):
        raise ValueError("all scenes of one batch must share width, height and frame count")
    device = torch.device(device)
    with one_cpu_thread(device), torch.no_grad():
        video = torch.empty(len(specs), T, H, W, 3, device=device)
        cover = torch.zeros(len(specs), T, H, W, device=device) if coverage else None
        _backgrounds(specs, video)
        for slot in range(max(len(s.looks) for s in specs)):
            _draw_slot(specs, slot, video, cover)
        return video.clamp_(0, 1), cover


def render_uint8(spec: SceneSpec) -> np.ndarray:
    """One scene as (T, H, W, 3) uint8 on the CPU."""
    v = render([spec])[0]
    return (v * 255).round().to(torch.uint8).numpy()
