"""Media sent over HTTP -> arrays, with limits checked before anything large is decoded.

Only bytes from the request are decoded: no path from a client is ever opened. Image sizes are
read from the PNG/JPEG header first, so a small file that would decode to gigabytes is refused
before decoding.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections import deque

import numpy as np

from engine.request import EngineError

MAX_PIXELS = 4096 * 4096  # per image or video frame
MAX_VIDEO_FRAMES = 3600  # frames decoded from a `previous` video (its last ones are kept)
KEEP_PREVIOUS = 17  # the engine uses at most the last 9; 1 + 4k keeps whole latent frames
PREVIEW_SIDE = 256
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class MediaError(EngineError):
    """A client's image or video cannot be used (bad base64, not PNG/JPEG, too large, corrupt)."""


def b64decode(text: str, what: str) -> bytes:
    """Standard base64, optionally as a `data:...;base64,` URL."""
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MediaError(f"{what} is not valid base64") from None
    if not data:
        raise MediaError(f"{what} is empty")
    return data


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header; None if it is neither."""
    if data[:8] == PNG_MAGIC and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(
                data[i + 5 : i + 7], "big"
            )
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def is_image(data: bytes) -> bool:
    return data[:8] == PNG_MAGIC or data[:2] == b"\xff\xd8"


def decode_image(data: bytes, what: str) -> np.ndarray:
    """PNG/JPEG bytes -> (H, W, 3) uint8 RGB."""
    import cv2

    size = image_size(data)
    if size is None:
        raise MediaError(f"{what} is not a PNG or JPEG image")
    w, h = size
    if w < 1 or h < 1 or w * h > MAX_PIXELS:
        raise MediaError(f"{what} is {w}x{h}: images may have at most 4096x4096 pixels")
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        img = None
    if img is None:
        raise MediaError(f"{what} cannot be decoded (corrupt or truncated image)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def decode_video_tail(data: bytes, what: str, keep: int = KEEP_PREVIOUS) -> np.ndarray:
    """Video bytes -> its last `keep` frames (T, H, W, 3) uint8 RGB."""
    import av

    tail: deque[np.ndarray] = deque(maxlen=keep)
    try:
        with av.open(io.BytesIO(data), mode="r") as box:
            if not box.streams.video:
                raise MediaError(f"{what} has no video stream")
            stream = box.streams.video[0]
            w, h = stream.codec_context.width, stream.codec_context.height
            if w * h > MAX_PIXELS:
                raise MediaError(f"{what} is {w}x{h}: frames may have at most 4096x4096 pixels")
            stream.thread_type = "AUTO"
            for n, frame in enumerate(box.decode(stream)):
                if n >= MAX_VIDEO_FRAMES:
                    raise MediaError(
                        f"{what} is longer than {MAX_VIDEO_FRAMES} frames: send its last frames only"
                    )
                tail.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as e:
        raise MediaError(
            f"{what} cannot be decoded as a video ({e.strerror or type(e).__name__})"
        ) from None
    if not tail:
        raise MediaError(f"{what} has no frames")
    return np.stack(tail)


def decode_previous(parts: list[bytes]) -> np.ndarray:
    """One video, or PNG/JPEG frames of one size -> (T, H, W, 3) uint8."""
    if len(parts) == 1 and not is_image(parts[0]):
        return decode_video_tail(parts[0], "previous")
    frames = [decode_image(p, f"previous frame {i}") for i, p in enumerate(parts[-KEEP_PREVIOUS:])]
    if len({f.shape for f in frames}) > 1:
        raise MediaError("previous frames must all have the same size")
    return np.stack(frames)


def encode_preview(frame: np.ndarray, side: int = PREVIEW_SIDE) -> str:
    """(h, w, 3) uint8 RGB -> base64 PNG whose longer side is at most `side`."""
    import cv2

    h, w = frame.shape[:2]
    s = min(1.0, side / max(h, w))
    if s < 1.0:
        frame = cv2.resize(
            frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""
