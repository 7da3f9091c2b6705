"""The film as a plan: segments of picture in output order and sound sources on the timeline.

Every segment occupies an exact span of output time; its frames are the output frames whose
rounded boundaries fall in it, so the film is as long as the sum of its parts within half a
frame, and picture and sound (sample-exact) map output time to the project timeline the same
way. Building the plan checks everything a user can get wrong before a byte is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

from app.project import AssetView, Project, SceneView, TakeView
from app.project.errors import NotFoundError

from .errors import RenderError
from .formats import OutputSpec
from .settings import CUT, RenderSettings, Transition
from .video_source import probe_take


@dataclass(frozen=True)
class Segment:
    kind: str  # scene | placeholder | card
    label: str  # names it in messages: "scene 3 'The storm'"
    start: float  # seconds of output time
    duration: float
    first: int  # first output frame
    count: int  # output frames
    timeline_start: float | None  # seconds on the project timeline; None for a card
    transition_in: Transition = CUT  # the cut from the previous segment, clamped to fit
    scene: SceneView | None = None
    take: TakeView | None = None
    video: AssetView | None = None
    lines: tuple[str, ...] = ()  # a card's text


@dataclass(frozen=True)
class AudioSource:
    label: str
    asset: AssetView
    start: float  # seconds on the project timeline
    in_point: float  # seconds into the media
    length: float  # seconds played
    gain_db: float  # clip gain + track gain
    fade_in: float
    fade_out: float


@dataclass(frozen=True)
class Plan:
    segments: tuple[Segment, ...]
    sources: tuple[AudioSource, ...]
    width: int
    height: int
    fps: Fraction
    frames: int
    duration: float
    sample_rate: int

    @property
    def samples(self) -> int:
        return round(self.duration * self.sample_rate)


def scene_label(scene: SceneView) -> str:
    name = scene.title or scene.prompt
    name = name if len(name) <= 40 else name[:39] + "…"
    return f"scene {scene.id} {name!r}" if name else f"scene {scene.id}"


def select_scenes(scenes: list[SceneView], text: str) -> tuple[int, ...]:
    """'4' | '4,7,9' | '4-9' (from scene 4 to scene 9 in timeline order), by scene id."""
    order = [s.id for s in scenes]
    picked: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        a, dash, b = part.partition("-")
        try:
            ids = (int(a), int(b)) if dash else (int(a),)
        except ValueError as e:
            raise RenderError(f"scenes must be ids like 4 or 4,7 or 4-9, got {part!r}") from e
        for i in ids:
            if i not in order:
                raise RenderError(f"no scene with id {i}")
        if dash:
            lo, hi = sorted((order.index(ids[0]), order.index(ids[1])))
            picked.extend(order[lo : hi + 1])
        else:
            picked.append(ids[0])
    if not picked:
        raise RenderError("no scenes were given")
    return tuple(i for i in order if i in set(picked))


def _clamp(t: Transition, before: float, after: float) -> Transition:
    if t.is_cut:
        return CUT
    return Transition(t.kind, min(t.duration, before, after))


def _placeholder_lines(scene: SceneView) -> tuple[str, ...]:
    lines = [f"Scene {scene.position + 1}"]
    if scene.title:
        lines.append(scene.title)
    if scene.prompt:
        lines.append(scene.prompt)
    lines.append("(no take yet)")
    return tuple(lines)


def _layout(parts: list[dict], spec: OutputSpec) -> tuple[Segment, ...]:
    """Give each part its output span and frames, and clamp each transition to its neighbours."""
    out: list[Segment] = []
    t = 0.0
    for i, p in enumerate(parts):
        first = round(t * spec.fps)
        end = round((t + p["duration"]) * spec.fps)
        before = parts[i - 1]["duration"] if i else 0.0
        asked = p.pop("transition", CUT)
        trans = _clamp(asked, before, p["duration"]) if i else CUT
        out.append(Segment(start=t, first=first, count=end - first, transition_in=trans, **p))
        t += p["duration"]
    return tuple(out)


def _take_audio(
    project: Project, segs: tuple[Segment, ...], gain: float, wanted: bool
) -> list[AudioSource]:
    """The takes' own sound as clips under their scenes (fading with the picture's
    transitions). Every take is opened here, wanted or not: a take that cannot be decoded is
    reported now, naming its scene, before anything is written."""
    sources = []
    for i, seg in enumerate(segs):
        if seg.video is None or seg.timeline_start is None:
            continue
        has_audio, audio_len = probe_take(project, seg.video, seg.label)
        if not (has_audio and wanted):
            continue
        nxt = segs[i + 1].transition_in if i + 1 < len(segs) else CUT
        sources.append(
            AudioSource(
                f"the sound of take {seg.take.id if seg.take else '?'} ({seg.label})",
                seg.video,
                seg.timeline_start,
                0.0,
                min(seg.duration, audio_len),
                gain,
                0.0 if seg.transition_in.is_cut else seg.transition_in.duration / 2,
                0.0 if nxt.is_cut else nxt.duration / 2,
            )
        )
    return sources


def _track_audio(project: Project, film_end: float | None) -> list[AudioSource]:
    tracks = project.audio_tracks()
    soloed = any(t.solo for t in tracks)
    sources = []
    for track in tracks:
        if track.mute or (soloed and not track.solo):
            continue
        for c in track.clips:
            asset = project.asset(c.asset_id)
            label = f"audio clip {c.id} ({asset.original_name}) on track {track.name!r}"
            media_len = asset.duration if asset.duration else math.inf
            if c.in_point >= media_len:
                raise RenderError(
                    f"{label}: its in point {c.in_point:g}s is past the end of its media "
                    f"({media_len:g}s)"
                )
            if film_end is not None and c.start >= film_end:
                raise RenderError(
                    f"{label} starts at {c.start:g}s, after the film ends at {film_end:g}s"
                )
            out = min(c.out_point, media_len) if c.out_point is not None else media_len
            sources.append(
                AudioSource(
                    label,
                    asset,
                    c.start,
                    c.in_point,
                    out - c.in_point,
                    c.gain_db + track.gain_db,
                    c.fade_in,
                    c.fade_out,
                )
            )
    return sources


def build(project: Project, settings: RenderSettings, spec: OutputSpec) -> Plan:
    if settings.take is not None:
        return _take_plan(project, settings, spec)
    timeline = project.timeline()
    if not timeline:
        raise RenderError(f"{project.path.name} has no scenes to export")
    wanted = set(settings.scenes) if settings.scenes is not None else None
    unknown = sorted((wanted or set()) - {e.scene.id for e in timeline})
    if unknown:
        raise RenderError(f"no scene with id {unknown[0]}")
    missing = [
        e.scene for e in timeline if e.take is None and (wanted is None or e.scene.id in wanted)
    ]
    if missing and settings.missing == "refuse":
        names = ", ".join(scene_label(s) for s in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise RenderError(f"{len(missing)} scene(s) have no take: {names}{more}")
    parts: list[dict] = []
    if settings.title_card > 0:
        title = settings.title_text if settings.title_text is not None else project.info().title
        parts.append(_card("title card", settings.title_card, title))
    timeline_t = 0.0
    for e in timeline:
        s = e.scene
        if wanted is None or s.id in wanted:
            part = dict(
                kind="scene" if e.video is not None else "placeholder",
                label=scene_label(s),
                duration=s.duration,
                timeline_start=timeline_t,
                transition=settings.transition_into(s.id),
                scene=s,
                take=e.take,
                video=e.video,
                lines=() if e.video is not None else _placeholder_lines(s),
            )
            if parts and parts[-1]["kind"] == "card":
                part["transition"] = settings.card_transition
            parts.append(part)
        timeline_t += s.duration
    if settings.end_card > 0:
        parts.append(_card("end card", settings.end_card, settings.end_text))
        parts[-1]["transition"] = settings.card_transition
    segs = _layout(parts, spec)
    # a soloed track silences everything else, the takes' own sound included
    soloed = any(t.solo for t in project.audio_tracks())
    m = settings.master
    sources = _take_audio(project, segs, m.take_audio_gain_db, m.take_audio and not soloed)
    sources += _track_audio(project, timeline_t if wanted is None else None)
    return _plan(segs, sources, spec)


def _card(label: str, duration: float, text: str) -> dict:
    return dict(kind="card", label=label, duration=duration, timeline_start=None, lines=(text,))


def _take_plan(project: Project, settings: RenderSettings, spec: OutputSpec) -> Plan:
    try:
        take = project.take(settings.take)  # type: ignore[arg-type]
    except NotFoundError as e:
        raise RenderError(str(e)) from e
    video = project.asset(take.asset_id)
    scene = project.scene(take.scene_id)
    label = f"take {take.id} of {scene_label(scene)}"
    has_audio, audio_len = probe_take(project, video, label)
    duration = video.duration or scene.duration
    part = dict(
        kind="scene",
        label=label,
        duration=duration,
        timeline_start=0.0,
        scene=scene,
        take=take,
        video=video,
    )
    segs = _layout([part], spec)
    sources = []
    if has_audio and settings.master.take_audio:
        sources.append(
            AudioSource(
                f"the sound of {label}",
                video,
                0.0,
                0.0,
                min(duration, audio_len),
                settings.master.take_audio_gain_db,
                0.0,
                0.0,
            )
        )
    return _plan(segs, sources, spec)


def _plan(segs: tuple[Segment, ...], sources: list[AudioSource], spec: OutputSpec) -> Plan:
    duration = segs[-1].start + segs[-1].duration
    frames = segs[-1].first + segs[-1].count
    segs = tuple(s if s.count >= 0 else replace(s, count=0) for s in segs)
    return Plan(
        segs, tuple(sources), spec.width, spec.height, spec.fps, frames, duration, spec.sample_rate
    )
