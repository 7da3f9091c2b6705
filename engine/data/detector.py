"""An analytic detector that reads world clips (uint8 (T, H, W, 3)) back into ground-truth terms.

Objects are found by colour: every pixel is labelled with the nearest palette colour when it is
close enough; a palette colour that covers a large part of the frame or a band across it is
background; the remaining connected components are objects (their pattern shows as holes inside a
rim of the main colour, so filling the outer contour gives the silhouette). The whole object
around a blob is what stands out from the background there, since a generated object's rim is
often blurred away; a small network reads its shape from a crop around it (`shape_net.py`), and
backgrounds are classified by nearest neighbours over analytic features (`recognise.py`). Camera
moves come from dense optical flow fitted with a translation + zoom model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from engine.data.world_sample import GRAVITY
from engine.data.world_spec import PALETTE

PAL = np.array(list(PALETTE.values()), np.float32)  # (12, 3)
NAMES = list(PALETTE)
MATCH = 60.0  # max RGB distance of a pixel to the palette colour it is labelled with
# Goes up with every change that moves scores, so evaluations read by different detectors are
# told apart. 2: shapes from the whole object around the blob, fitted on softened renders too
# (only shape_accuracy, and paraphrase_accuracy which includes it, move). 3: shapes read by a
# small network trained on generically degraded renders (`shape_net.py`), not by silhouette
# features (again only shape_accuracy and paraphrase_accuracy move).
VERSION = 3


@dataclass
class Blob:
    colour: str
    area: int
    centroid: tuple[float, float]  # x, y in pixels
    bbox: tuple[int, int, int, int]  # x, y, w, h
    mask: np.ndarray = field(repr=False)  # (H, W) bool: the component (pattern holes open)

    def silhouette(self) -> np.ndarray:
        """(H, W) bool: the component with its holes filled."""
        m = self.mask.astype(np.uint8)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        out = np.zeros_like(m)
        cv2.drawContours(out, contours, -1, 1, thickness=cv2.FILLED)
        return out.astype(bool)


@lru_cache(maxsize=4)
def _label_table(match: float) -> np.ndarray:
    """(32768,) int8 nearest palette index (or -1) of every colour quantised to 5 bits a channel."""
    q = (np.arange(32, dtype=np.float32) * 8 + 4)[:, None]
    rgb = np.stack(np.meshgrid(q[:, 0], q[:, 0], q[:, 0], indexing="ij"), -1).reshape(-1, 3)
    d = ((rgb[:, None, :] - PAL[None]) ** 2).sum(-1)  # (32768, 12)
    idx = d.argmin(-1)
    return np.where(d.min(-1) <= match * match, idx, -1).astype(np.int8)


def labels(frame: np.ndarray, match: float = MATCH) -> np.ndarray:
    """(H, W) int8: index of the nearest palette colour within `match` (to 5-bit precision), else -1."""
    q = (frame >> 3).astype(np.int32)
    return _label_table(match)[(q[..., 0] << 10) | (q[..., 1] << 5) | q[..., 2]]


def find_blobs(frame: np.ndarray, match: float = MATCH) -> list[Blob]:
    """Object candidates in one frame, largest first, at most one per colour."""
    H, W = frame.shape[:2]
    lab = labels(frame, match)
    min_area = max(12, int(0.2 * math.pi * (0.085 * min(H, W)) ** 2))
    out = []
    for k in np.unique(lab):
        if k < 0:
            continue
        mask = (lab == k).astype(np.uint8)
        if mask.sum() > 0.3 * H * W:
            continue  # a background colour
        if not cv2.erode(mask, np.ones((3, 3), np.uint8)).any():
            continue  # only specks: no solid region (cheap gate before labelling components)
        n, cc, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
        x, y, w, h, area = stats[1:].T
        # a component is an object candidate unless tiny, huge, or a band across the frame
        ok = (area >= min_area) & (area <= 0.25 * H * W) & (w < W - 1) & (h < H - 1)
        if ok.any():
            best = 1 + int(np.argmax(np.where(ok, area, -1)))
            bx, by, bw, bh, ba = (int(v) for v in stats[best])
            out.append(Blob(NAMES[k], ba, tuple(cents[best]), (bx, by, bw, bh), cc == best))
    if not out and match < 100:
        return find_blobs(frame, 100.0)  # a model's colours may be off: a looser second look
    out.sort(key=lambda b: -b.area)
    return [b for i, b in enumerate(out) if not any(_inside(b, o) for o in out[:i])]


def _inside(b: Blob, o: Blob) -> bool:
    """Whether blob b lies within the box of the larger blob o (a piece of o's pattern)."""
    x, y, w, h = b.bbox
    ox, oy, ow, oh = o.bbox
    return x >= ox - 1 and y >= oy - 1 and x + w <= ox + ow + 1 and y + h <= oy + oh + 1


# ---------------------------------------------------------------- the whole object
def _code6(c: np.ndarray) -> np.ndarray:
    """One int per 6-bit RGB colour."""
    c = c.astype(np.int32)
    return (c[..., 0] << 12) | (c[..., 1] << 6) | c[..., 2]


def _rgb6(code: np.ndarray) -> np.ndarray:
    return np.stack([code >> 12, (code >> 6) & 63, code & 63], -1).astype(np.float32)


def object_silhouette(
    frame: np.ndarray, b: Blob, contrast: float = 45.0
) -> tuple[np.ndarray, np.ndarray]:
    """((H, W) bool silhouette, (H, W) bool component): the whole object that blob b belongs to,
    found as what stands out from the background around it. Filling the blob's contour needs
    the world's crisp outline in the main colour; a generated (or autoencoded) object often has
    it only in part, which leaves a crescent. Here every pixel near the blob whose colour is
    `contrast` levels from each colour on a ring around it counts, joined to the blob."""
    H, W = frame.shape[:2]
    x, y, w, h = b.bbox
    m = max(w, h) // 2 + 3
    x0, y0, x1, y1 = max(0, x - m), max(0, y - m), min(W, x + w + m), min(H, y + h + m)
    win = frame[y0:y1, x0:x1] >> 2  # 6 bits a channel: few distinct colours to compare
    ring = np.concatenate([win[0], win[-1], win[1:-1, 0], win[1:-1, -1]])
    colours, inverse = np.unique(_code6(win), return_inverse=True)
    d = np.sqrt(
        ((_rgb6(colours)[:, None] - _rgb6(np.unique(_code6(ring)))[None]) ** 2).sum(-1)
    ).min(-1)
    fg = (4 * d[inverse.reshape(win.shape[:2])] > contrast).astype(np.uint8)  # in levels
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    seed = b.mask[y0:y1, x0:x1]
    n, cc = cv2.connectedComponents(fg, connectivity=8)
    touching = np.unique(cc[seed & (fg > 0)])
    comp = np.zeros((H, W), bool)
    comp[y0:y1, x0:x1] = np.isin(cc, touching[touching > 0]) | seed
    contours, _ = cv2.findContours(comp.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    sil = np.zeros((H, W), np.uint8)
    if contours:
        cv2.drawContours(sil, [max(contours, key=cv2.contourArea)], -1, 1, thickness=cv2.FILLED)
    return sil.astype(bool), comp


def central_hole(sil: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """(H, W) bool: the largest hole of the component near the silhouette's centre (a ring's)."""
    holes = (sil & ~comp).astype(np.uint8)
    out = np.zeros_like(sil)
    n, cc, stats, cents = cv2.connectedComponentsWithStats(holes, connectivity=4)
    if n <= 1:
        return out
    ys, xs = np.nonzero(sil)
    cx, cy = xs.mean(), ys.mean()
    rad = math.sqrt(len(xs) / math.pi)
    near = [i for i in range(1, n) if math.hypot(cents[i][0] - cx, cents[i][1] - cy) < 0.2 * rad]
    if near:
        best = max(near, key=lambda i: stats[i][4])
        if stats[best][4] > 0.12 * len(xs):
            out = cc == best
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images, capped at 60 (identical images)."""
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 60.0 if mse <= 1e-6 else min(60.0, 10 * math.log10(255.0**2 / mse))


# ---------------------------------------------------------------- clip-level readings
def main_blobs(frames: np.ndarray, n: int = 1, step: int = 1) -> list[str]:
    """The n colours whose blobs cover the most area over the clip."""
    score: dict[str, float] = {}
    for f in frames[::step]:
        for b in find_blobs(f)[: max(n, 2)]:
            score[b.colour] = score.get(b.colour, 0.0) + b.area
    return sorted(score, key=lambda c: -score[c])[:n]


def main_colour(frames: np.ndarray) -> str | None:
    """The colour of the clip's main object (every 4th frame read), None where none is found."""
    return (main_blobs(frames, 1, 4) or [None])[0]


def blob_of(frame: np.ndarray, colour: str) -> Blob | None:
    for b in find_blobs(frame):
        if b.colour == colour:
            return b
    return None


def track(frames: np.ndarray, colour: str) -> np.ndarray:
    """(T, 3) centroid x, y and area of the `colour` object per frame (nan when not found)."""
    out = np.full((len(frames), 3), np.nan)
    for t, f in enumerate(frames):
        b = blob_of(f, colour)
        if b is not None:
            out[t] = (*b.centroid, b.area)
    return out


def direction(frames: np.ndarray, colour: str | None = None) -> str:
    """left | right | up | down | still: the main object's net displacement over the clip."""
    H, W = frames.shape[1:3]
    colour = colour or main_colour(frames)
    if colour is None:
        return "none"
    tr = track(frames, colour)[:, :2]
    ok = ~np.isnan(tr[:, 0])
    if ok.sum() < 2:
        return "none"
    pts = tr[ok]
    k = max(1, len(pts) // 5)
    d = pts[-k:].mean(0) - pts[:k].mean(0)
    dx, dy = d[0] / W, d[1] / H
    if max(abs(dx), abs(dy)) < 0.08:
        return "still"
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def bounces(frames: np.ndarray, fps: float, colour: str | None = None) -> bool:
    """A falling ball's track: at least one bounce, and parabolic flight under about the world's
    gravity between bounces (quadratic fit R^2 >= 0.9, acceleration 0.4-2.5 g)."""
    H = frames.shape[1]
    colour = colour or main_colour(frames)
    if colour is None:
        return False
    y = track(frames, colour)[:, 1]
    t = np.arange(len(y)) / fps
    if np.isnan(y).mean() > 0.2:
        return False
    ok = ~np.isnan(y)
    y, t = y[ok], t[ok]
    lows = [i for i in range(1, len(y) - 1) if y[i] >= y[i - 1] and y[i] > y[i + 1] + 0.01 * H]
    if not lows:
        return False
    g = GRAVITY * H
    cuts = [-1, *lows, len(y)]
    good = 0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        seg = slice(a + 1, b)  # the frames between two contacts, contacts excluded
        ts, ys = t[seg], y[seg]
        if len(ts) < 4:
            continue
        coef = np.polyfit(ts, ys, 2)
        res = ys - np.polyval(coef, ts)
        r2 = 1 - (res**2).sum() / max(((ys - ys.mean()) ** 2).sum(), 1e-9)
        if r2 >= 0.9 and 0.4 * g <= 2 * coef[0] <= 2.5 * g:
            good += 1
    return good >= 1


def relation(frame: np.ndarray, a: str, b: str) -> str:
    """left_of | right_of | above | below: where the `a` object is relative to the `b` object."""
    H, W = frame.shape[:2]
    ba, bb = blob_of(frame, a), blob_of(frame, b)
    if ba is None or bb is None:
        return "none"
    dx = (ba.centroid[0] - bb.centroid[0]) / W
    dy = (ba.centroid[1] - bb.centroid[1]) / H
    if abs(dx) >= abs(dy):
        return "left_of" if dx < 0 else "right_of"
    return "above" if dy < 0 else "below"


def count(frame: np.ndarray) -> int:
    return len(find_blobs(frame))


def camera_move(frames: np.ndarray) -> str:
    """static | pan_left | pan_right | tilt_up | tilt_down | zoom_in | zoom_out, from dense optical
    flow between frames fitted with a translation + zoom model (content moves opposite a pan)."""
    T, H, W = frames.shape[:3]
    if T < 2:
        return "static"
    scale = min(1.0, 72.0 / min(H, W))  # flow at a fixed scale: the short side 72 px
    size = (max(16, int(W * scale)), max(16, int(H * scale)))
    gray = [
        cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
        for f in frames
    ]
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs, ys = xs - w / 2, ys - h / 2
    tx = ty = sx = sy = 0.0
    for a, b in zip(gray[:-1], gray[1:], strict=True):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 3, 5, 1.1, 0)
        gx = cv2.Sobel(a, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(a, cv2.CV_32F, 0, 1)
        wgt = (np.hypot(gx, gy) > 8).ravel()  # only textured pixels carry flow
        if wgt.sum() < 20:
            continue
        # each axis on its own: flow_x = tx + sx * x, flow_y = ty + sy * y; a zoom shows in both
        one = np.ones(int(wgt.sum()), np.float32)
        ax, *_ = np.linalg.lstsq(
            np.stack([one, xs.ravel()[wgt]], 1), flow[..., 0].ravel()[wgt], rcond=None
        )
        ay, *_ = np.linalg.lstsq(
            np.stack([one, ys.ravel()[wgt]], 1), flow[..., 1].ravel()[wgt], rcond=None
        )
        tx, ty, sx, sy = tx + ax[0] / w, ty + ay[0] / h, sx + ax[1], sy + ay[1]
    zoom = min(abs(sx), abs(sy)) if sx * sy > 0 else 0.0
    scores = {"pan": abs(tx), "tilt": abs(ty), "zoom": zoom * 0.7}
    best = max(scores, key=scores.get)
    if scores[best] < 0.06:
        return "static"
    if best == "pan":
        return "pan_left" if tx > 0 else "pan_right"
    if best == "tilt":
        return "tilt_up" if ty > 0 else "tilt_down"
    return "zoom_in" if sx > 0 else "zoom_out"


def object_crop(frame: np.ndarray, colour: str, size: int = 16) -> np.ndarray | None:
    """(size, size, 4) float: the object's bounding box resized, RGB (0-255) + silhouette alpha."""
    b = blob_of(frame, colour)
    if b is None:
        return None
    sil = b.silhouette()
    x, y, w, h = cv2.boundingRect(sil.astype(np.uint8))
    sil = sil & ~central_hole(sil, b.mask)  # a ring's hole shows the background, not the ring
    box = frame[y : y + h, x : x + w].astype(np.float32)
    rgb = cv2.resize(box, (size, size), interpolation=cv2.INTER_AREA)
    a = cv2.resize(
        sil[y : y + h, x : x + w].astype(np.float32), (size, size), interpolation=cv2.INTER_AREA
    )
    return np.concatenate([rgb, a[..., None]], -1)


def _pattern_hist(c: np.ndarray) -> np.ndarray | None:
    """Normalised 4x4x4 colour histogram of the crop's pattern pixels (not the main colour)."""
    px = c[..., :3][c[..., 3] > 0.5]
    if len(px) == 0:
        return None
    main = PAL[np.argmin(((PAL[None] - np.median(px, 0)[None, None]) ** 2).sum(-1))]
    pat = px[np.sqrt(((px - main) ** 2).sum(-1)) > MATCH]
    if len(pat) < 0.03 * len(px):
        return np.zeros(64)
    q = np.clip((pat / 64).astype(int), 0, 3)
    h = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64).astype(float)
    return h / h.sum()


def shows_pattern(crop: np.ndarray | None) -> bool:
    """Whether an object crop has any pattern on it: at least 3 % of its pixels off its main
    colour (a found object drawn plain has none)."""
    h = None if crop is None else _pattern_hist(crop)
    return h is not None and h.sum() > 0


def identity_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """0-1 similarity of two object crops' identity patterns: the colours of their pattern
    (histogram intersection) and their layout inside the silhouettes (mean absolute difference)."""
    if a is None or b is None:
        return 0.0
    ha, hb = _pattern_hist(a), _pattern_hist(b)
    if ha is None or hb is None:
        return 0.0
    if ha.sum() == 0 or hb.sum() == 0:
        colours = 1.0 if ha.sum() == hb.sum() else 0.0
    else:
        colours = float(np.minimum(ha, hb).sum())
    both = (a[..., 3] > 0.5) & (b[..., 3] > 0.5)
    if both.sum() == 0:
        return 0.5 * colours
    layout = max(0.0, 1.0 - float(np.abs(a[..., :3] - b[..., :3])[both].mean()) / 100.0)
    return 0.5 * colours + 0.5 * layout


def flicker(frames: np.ndarray) -> float:
    """Mean absolute frame-to-frame change (0-255 levels) of the pixels no object ever covers."""
    if len(frames) < 2:
        return 0.0
    H, W = frames.shape[1:3]
    moving = np.zeros((H, W), bool)
    for f in frames:
        for b in find_blobs(f):
            moving |= b.silhouette()
    k = max(3, int(0.04 * min(H, W)) | 1)
    moving = cv2.dilate(moving.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    static = ~moving
    if static.sum() == 0:
        return 0.0
    d = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(-1)  # (T-1, H, W)
    return float(d[:, static].mean())
