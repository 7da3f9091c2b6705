"""Output formats and presets, resolved against a project into one `OutputSpec`.

A format says which container and codecs; a preset says which frame size and quality. Sizes
for YUV 4:2:0 codecs are made even (the chroma planes are half size).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import RenderError
from .settings import RenderSettings

SAMPLE_RATE = 48_000  # the mix's rate: native to Opus, standard for AAC and video


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    container: str | None  # libav muxer; None: a folder of images
    video: str | None  # libav encoder
    audio: str | None
    pix_fmt: str | None
    crf: int | None  # the codec's CRF at the "web" quality
    suffixes: tuple[str, ...] = ()
    max_side: int | None = None  # previews are kept small
    max_fps: float | None = None


FORMATS = {
    f.name: f
    for f in (
        Format(
            "mp4",
            "H.264 + AAC in MP4 (plays everywhere)",
            "mp4",
            "libx264",
            "aac",
            "yuv420p",
            20,
            (".mp4", ".m4v", ".mov"),
        ),
        Format(
            "hevc", "H.265 + AAC in MP4 (smaller files)", "mp4", "libx265", "aac", "yuv420p", 24
        ),
        Format(
            "webm",
            "VP9 + Opus in WebM (for the web)",
            "webm",
            "libvpx-vp9",
            "libopus",
            "yuv420p",
            32,
            (".webm",),
        ),
        Format(
            "gif",
            "animated GIF preview (no sound)",
            "gif",
            "gif",
            None,
            "pal8",
            None,
            (".gif",),
            max_side=480,
            max_fps=12,
        ),
        Format(
            "png", "PNG frame sequence in a folder (no sound)", None, "png", None, "rgb24", None
        ),
        Format(
            "wav",
            "WAV of the mix alone (no picture)",
            "wav",
            None,
            "pcm_s16le",
            None,
            None,
            (".wav",),
        ),
    )
}


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    size: tuple[int, int] | None  # None: from the project
    short_side: int | None = None  # keep the project's aspect, scale the short side to this
    quality: int = 0  # added to the codec's CRF: higher is smaller and rougher
    speed: str = "fast"  # x264/x265 speed preset


PRESETS = {
    p.name: p
    for p in (
        Preset("web-1080p", "1920x1080 for YouTube, Vimeo and the web", (1920, 1080)),
        Preset("web-720p", "1280x720 for the web and e-mail", (1280, 720), quality=1),
        Preset("vertical", "1080x1920 (9:16) for Shorts, Reels and TikTok", (1080, 1920)),
        Preset("square", "1080x1080 (1:1) for feeds", (1080, 1080)),
        Preset("draft", "480p at the project's aspect, quick and small", None, 480, 8, "veryfast"),
        Preset("native", "the project's own frame size", None, quality=-2),
    )
}


@dataclass(frozen=True)
class OutputSpec:
    format: Format
    preset: Preset
    width: int
    height: int
    fps: Fraction
    crf: int | None
    bitrate: int | None
    speed: str
    sample_rate: int = SAMPLE_RATE

    @property
    def has_video(self) -> bool:
        return self.format.video is not None

    @property
    def has_audio(self) -> bool:
        return self.format.audio is not None


def format_for(path: Path, name: str | None) -> Format:
    if name is not None:
        if name not in FORMATS:
            raise RenderError(f"unknown format {name!r} (one of {', '.join(FORMATS)})")
        return FORMATS[name]
    suffix = path.suffix.lower()
    for f in FORMATS.values():
        if suffix in f.suffixes:
            return f
    raise RenderError(
        f"cannot tell the format from {path.name!r}: use .mp4, .webm, .gif or .wav, "
        "or give a format (hevc, png)"
    )


def fps_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def resolve(path: Path, settings: RenderSettings, size: tuple[int, int], fps: float) -> OutputSpec:
    """The output for a project (or take) of `size` and `fps`, as the settings ask."""
    fmt = format_for(path, settings.format)
    if settings.preset not in PRESETS:
        raise RenderError(f"unknown preset {settings.preset!r} (one of {', '.join(PRESETS)})")
    preset = PRESETS[settings.preset]
    w, h = size
    if preset.size is not None:
        w, h = preset.size
    elif preset.short_side is not None:
        s = preset.short_side / min(w, h)
        w, h = w * s, h * s
    if fmt.max_side is not None and max(w, h) > fmt.max_side:
        s = fmt.max_side / max(w, h)
        w, h = w * s, h * s
    w, h = (
        (_even(w), _even(h))
        if fmt.pix_fmt == "yuv420p" or fmt.max_side
        else (max(1, round(w)), max(1, round(h)))
    )
    rate = fps_fraction(fps)
    if fmt.max_fps is not None and rate > fmt.max_fps:
        rate = fps_fraction(fmt.max_fps)
    crf = None
    if fmt.crf is not None and settings.bitrate is None:
        crf = settings.crf if settings.crf is not None else max(0, fmt.crf + preset.quality)
    return OutputSpec(
        fmt, preset, w, h, rate, crf, settings.bitrate, settings.speed or preset.speed
    )
