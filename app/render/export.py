"""Export: a project (or a range of it, or one take) to a finished file, with progress and cancel.

    result = export_film(project, Path("film.mp4"), RenderSettings(preset="web-720p"),
                         progress=print, cancel=threading.Event())

Order of work: resolve the output, build the plan (which checks every take and clip), measure
the mix's peak (first audio pass), then stream picture and sound into the encoder one frame at a
time, write the sidecar, and rename into place. Any failure, cancel included, removes the
temporary file and leaves whatever was under the requested name as it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from app.project import Project
from app.project.errors import NotFoundError

from . import formats, provenance, soundtrack
from . import plan as plan_mod
from .compose import Compositor
from .encode import ContainerSink, PngSink, Sink
from .errors import ExportCancelled, RenderError
from .formats import OutputSpec
from .master import master, normalise_gain
from .output import AtomicOutput, WriteHook, check_destination, describe_os_error
from .plan import Plan
from .settings import RenderSettings


@dataclass(frozen=True)
class Progress:
    frames_done: int
    frames_total: int
    elapsed_s: float
    eta_s: float | None  # None until there is a rate to go by
    phase: str  # "sound" (measuring the mix) | "encoding" | "finishing"

    @property
    def fraction(self) -> float:
        return self.frames_done / self.frames_total if self.frames_total else 1.0


@dataclass(frozen=True)
class ExportResult:
    path: Path
    sidecar: Path | None
    format: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float  # seconds
    has_audio: bool
    seconds: float  # wall time of the export
    recipe: dict


ProgressFn = Callable[[Progress], None]


def plan_export(project: Project, out: Path, settings: RenderSettings) -> tuple[OutputSpec, Plan]:
    """What an export would write (checks everything; writes nothing)."""
    info = project.info()
    size, fps = (info.width, info.height), info.fps
    if settings.take is not None and settings.preset == "native":
        try:
            video = project.asset(project.take(settings.take).asset_id)
        except NotFoundError as e:
            raise RenderError(str(e)) from e
        size = (video.width or size[0], video.height or size[1])
        fps = video.fps or fps
    spec = formats.resolve(out, settings, size, fps)
    return spec, plan_mod.build(project, settings, spec)


class _Ticker:
    def __init__(
        self, fn: ProgressFn | None, total: int, cancel: threading.Event | None, every: float
    ) -> None:
        self.fn, self.total, self.cancel, self.every = fn, total, cancel, every
        self.t0 = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, phase: str, force: bool = False) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise ExportCancelled("the export was cancelled; nothing was written")
        if self.fn is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        elapsed = now - self.t0
        eta = elapsed / done * (self.total - done) if done and phase == "encoding" else None
        self.fn(Progress(done, self.total, elapsed, eta, phase))


def export_film(
    project: Project,
    out: Path,
    settings: RenderSettings | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    write_hook: WriteHook | None = None,
    progress_every: float = 0.1,
) -> ExportResult:
    """Render and write `out`. `progress` hears at most every `progress_every` seconds (and at
    the start and end); `cancel` is checked every frame. `write_hook(n)` is called before each
    write of n bytes and may raise (a size quota; tests use it to run out of disk)."""
    settings = settings or RenderSettings()
    out = Path(out)
    t_start = time.monotonic()
    check_destination(out, folder=formats.format_for(out, settings.format).name == "png")
    spec, plan = plan_export(project, out, settings)
    recipe = provenance.build_recipe(project, plan, settings, spec)
    tick = _Ticker(progress, plan.frames, cancel, progress_every)
    tick(0, "sound", force=True)
    mix_peak = soundtrack.peak(project, plan) if spec.has_audio and plan.sources else 0.0
    target = AtomicOutput(out, folder=spec.format.name == "png", hook=write_hook)
    try:
        sink = _open_sink(target, spec, provenance.tags(recipe))
        try:
            _stream(project, plan, settings, spec, sink, mix_peak, tick)
            tick(plan.frames, "finishing", force=True)
            sink.close()
        except BaseException:
            sink.abort()
            raise
        side = provenance.sidecar_path(out) if settings.sidecar else None
        target.commit((side, provenance.sidecar_bytes(recipe)) if side else None)
        if side is None:  # an earlier export's recipe would now describe the wrong film
            provenance.sidecar_path(out).unlink(missing_ok=True)
    except OSError as e:
        target.discard()
        raise RenderError(describe_os_error(e, out)) from e
    except av.FFmpegError as e:
        target.discard()
        raise RenderError(f"encoding {out.name} failed: {e}") from e
    except BaseException:
        target.discard()
        raise
    if progress is not None:
        progress(Progress(plan.frames, plan.frames, time.monotonic() - t_start, 0.0, "done"))
    return ExportResult(
        out,
        side,
        spec.format.name,
        spec.width,
        spec.height,
        float(spec.fps),
        plan.frames if spec.has_video else 0,
        plan.frames / float(spec.fps),
        spec.has_audio,
        time.monotonic() - t_start,
        recipe,
    )


def _open_sink(target: AtomicOutput, spec: OutputSpec, tags: dict[str, str]) -> Sink:
    if spec.format.name == "png":
        return PngSink(target.tmp, spec, target.open)
    return ContainerSink(target.open(), spec, tags)


def _stream(
    project: Project,
    plan: Plan,
    settings: RenderSettings,
    spec: OutputSpec,
    sink: Sink,
    mix_peak: float,
    tick: _Ticker,
) -> None:
    """Picture and sound into the sink, interleaved frame by frame."""
    raw = soundtrack.blocks(project, plan) if spec.has_audio else iter(())
    gain = normalise_gain(mix_peak, settings.master.normalise_db, settings.master.max_boost_db)
    fifo = soundtrack.SampleFifo(master(raw, gain, settings.master.ceiling_db, plan.sample_rate))
    comp = Compositor(project, plan, settings.fit, settings.subtitles)
    frames = comp.frames() if spec.has_video else iter(())
    rate, fps = plan.sample_rate, plan.fps
    sent = 0
    try:
        for n in range(plan.frames):
            if spec.has_video:
                sink.video(next(frames))
            if spec.has_audio:
                upto = round((n + 1) * rate / fps)
                sink.audio(fifo.take(upto - sent))
                sent = upto
            tick(n + 1, "encoding")
    finally:
        for gen in (frames, raw):
            close = getattr(gen, "close", None)
            if close is not None:
                close()
        comp.close()
