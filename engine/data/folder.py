"""Training data from a folder of the user's own videos and images with `.txt` captions beside them.

`clip.mp4` + `clip.txt`, `photo.png` + `photo.txt`, in any sub-folder. Each clip is decoded with
PyAV, sampled at the training fps from a seeded random start, resized to cover the size bucket
closest to its aspect ratio and centre-cropped. Batches share one bucket, like the world's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from engine.data.synthetic import WorldBatch

VIDEO_EXT = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


class FolderDataError(Exception):
    """The folder cannot be used for training (missing, empty, unreadable file); one-line message."""


@dataclass(frozen=True)
class FolderItem:
    path: Path
    caption: str
    is_image: bool
    width: int
    height: int
    duration: float  # seconds (0 for images)
    rate: float = 0.0  # the source's frames per second (0 for images)


def _probe(path: Path) -> tuple[int, int, float, float]:
    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            dur = (
                float(s.duration * s.time_base)
                if s.duration
                else float(c.duration or 0) / av.time_base
            )
            rate = float(s.average_rate or s.guessed_rate or 24)
            return s.codec_context.width, s.codec_context.height, dur, rate
    except (av.error.FFmpegError, IndexError) as e:
        raise FolderDataError(f"cannot read {path.name}: {e}") from e


def scan_folder(root: str | Path) -> list[FolderItem]:
    """Every video/image under root that has a non-empty caption file beside it, sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise FolderDataError(f"training folder {root} does not exist")
    items = []
    for p in sorted(root.rglob("*")):
        ext = p.suffix.lower()
        if ext not in VIDEO_EXT | IMAGE_EXT:
            continue
        txt = p.with_suffix(".txt")
        caption = txt.read_text(encoding="utf-8").strip() if txt.exists() else ""
        if not caption:
            continue
        if ext in IMAGE_EXT:
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None:
                raise FolderDataError(f"cannot read image {p.name}")
            items.append(FolderItem(p, caption, True, img.shape[1], img.shape[0], 0.0))
        else:
            w, h, dur, rate = _probe(p)
            items.append(FolderItem(p, caption, False, w, h, dur, rate))
    if not items:
        raise FolderDataError(f"no captioned videos or images (name.mp4 + name.txt) in {root}")
    return items


def cover(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale (H, W, 3) to cover width x height and centre-crop."""
    h, w = frame.shape[:2]
    s = max(width / w, height / h)
    nw, nh = max(width, round(w * s)), max(height, round(h * s))
    r = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return r[y0 : y0 + height, x0 : x0 + width]


def read_clip(item: FolderItem, frames: int, fps: float, start: float) -> np.ndarray:
    """(frames, H, W, 3) uint8 at `fps` from `start` seconds; a short video holds its last frame."""
    if item.is_image:
        img = cv2.cvtColor(cv2.imread(str(item.path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        return np.repeat(img[None], frames, axis=0)
    want = start + np.arange(frames) / fps
    out: list[np.ndarray | None] = [None] * frames
    last = None
    try:
        with av.open(str(item.path)) as c:
            s = c.streams.video[0]
            for f in c.decode(s):
                t = float(f.pts * s.time_base) if f.pts is not None else 0.0
                img = f.to_ndarray(format="rgb24")
                for k in np.nonzero(want <= t + 1e-6)[0]:  # the first frame at or after each time
                    if out[k] is None:
                        out[k] = img
                last = img
                if out[-1] is not None:
                    break
    except av.error.FFmpegError as e:
        raise FolderDataError(f"cannot decode {item.path.name}: {e}") from e
    if last is None:
        raise FolderDataError(f"{item.path.name} has no frames")
    return np.stack([o if o is not None else last for o in out])


def nearest_bucket(item: FolderItem, buckets: list[tuple[int, int]]) -> tuple[int, int]:
    a = np.log(item.width / item.height)
    return min(buckets, key=lambda b: abs(np.log(b[0] / b[1]) - a))


def sample_folder_batch(
    items: list[FolderItem],
    n: int,
    width: int,
    height: int,
    frames: int,
    fps: float,
    *,
    seed: int,
    device: str | torch.device = "cpu",
) -> WorldBatch:
    """n items drawn with a seeded generator, each covering width x height: a pure function of
    its arguments, so a training step that uses it resumes exactly. Videos give `frames`-frame
    clips; a still bucket (frames == 1) takes images and single video frames alike; a moving
    bucket takes videos only (an image would be a clip that never moves)."""
    pool = items if frames == 1 else [it for it in items if not it.is_image]
    if not pool:
        raise FolderDataError(
            "the folder has no videos for a moving size bucket (add captioned videos, or train "
            "on one-frame buckets only)"
        )
    rng = np.random.default_rng(seed)
    chosen = [pool[int(i)] for i in rng.integers(0, len(pool), size=n)]
    return _batch_of(chosen, width, height, frames, fps, rng, device)


def _batch_of(
    items: list[FolderItem],
    width: int,
    height: int,
    frames: int,
    fps: float,
    rng: np.random.Generator,
    device: str | torch.device,
) -> WorldBatch:
    """Decode `items` from seeded random starts, each covering width x height, as one batch
    (an image is a still whatever `frames` is: batch stills and clips apart)."""
    clips, specs = [], []
    for it in items:
        last = it.duration - (1.0 / it.rate if it.rate else 0.0)  # the last frame's time
        span = max(0.0, last - (frames - 1) / fps)
        start = float(rng.uniform(0, span)) if span > 0 else 0.0
        clip = read_clip(it, 1 if it.is_image else frames, fps, start)
        clips.append(np.stack([cover(f, width, height) for f in clip]))
        specs.append({"path": str(it.path), "start": start, "bucket": (width, height)})
    video = torch.from_numpy(np.stack(clips)).to(device).float().div_(255.0)
    return WorldBatch(
        video=video,
        captions=[it.caption for it in items],
        start_image=None,
        previous=None,
        previous_valid=None,
        references=None,
        references_valid=None,
        specs=specs,
    )


def make_folder_batches(
    root: str | Path,
    batch_size: int,
    frames: int,
    fps: float,
    *,
    buckets: list[tuple[int, int]] | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    epochs: int | None = None,
) -> Iterator[WorldBatch]:
    """Endless (or `epochs`) seeded batches of (B, T, H, W, 3) clips in [0, 1] with their captions.

    Videos give `frames`-frame clips; images give 1-frame clips in batches of their own. The last
    batch of a bucket in an epoch may be smaller."""
    items = scan_folder(root)
    buckets = buckets or [(256, 144)]
    rng = np.random.default_rng(seed)
    epoch = 0
    while epochs is None or epoch < epochs:
        groups: dict[tuple[int, int, bool], list[FolderItem]] = {}
        for i in rng.permutation(len(items)):
            it = items[i]
            groups.setdefault((*nearest_bucket(it, buckets), it.is_image), []).append(it)
        for (w, h, is_image), group in groups.items():
            t = 1 if is_image else frames
            for j in range(0, len(group), batch_size):
                yield _batch_of(group[j : j + batch_size], w, h, t, fps, rng, device)
        epoch += 1
