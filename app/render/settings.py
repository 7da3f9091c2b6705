"""What an export is asked to do, beyond the project itself: typed, frozen settings.

The project schema has no fields yet for transitions, fit/fill, cards or subtitles, so they
travel here, from the CLI's options or the editor's export dialog.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import RenderError

FITS = ("fit", "fill")  # fit: letterbox/pillarbox the whole take; fill: crop to cover the frame
MISSING = ("placeholder", "refuse")  # a scene without a take: a titled card, or an error
TRANSITIONS = ("cut", "crossfade", "fade")  # fade: through black
SPEEDS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)  # x264/x265 speed presets


@dataclass(frozen=True)
class Transition:
    """The cut into a scene. Its duration is centred on the cut, so transitions never change
    the film's length: the outgoing take plays on (or holds) and the incoming one holds its
    first frame until it starts."""

    kind: str = "cut"
    duration: float = 0.0  # seconds

    def __post_init__(self) -> None:
        if self.kind not in TRANSITIONS:
            raise RenderError(f"unknown transition {self.kind!r} (one of {', '.join(TRANSITIONS)})")
        if not math.isfinite(self.duration) or self.duration < 0:
            raise RenderError(f"a transition's duration must be 0 or more, not {self.duration}")

    @property
    def is_cut(self) -> bool:
        return self.kind == "cut" or self.duration <= 0

    @classmethod
    def parse(cls, text: str) -> Transition:
        """'cut', 'crossfade:0.5', 'fade:1' (seconds; 0.5 when left out)."""
        kind, _, secs = text.strip().lower().partition(":")
        if kind == "cut":
            return cls()
        try:
            duration = float(secs) if secs else 0.5
        except ValueError as e:
            raise RenderError(f"transition duration must be seconds, got {secs!r}") from e
        return cls(kind, duration)

    def as_dict(self) -> dict[str, object]:
        return {"kind": "cut" if self.is_cut else self.kind, "duration": self.duration}


CUT = Transition()


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from `start` to `end`, seconds on the project timeline."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class MasterSettings:
    """The master bus: peak normalisation, then a look-ahead limiter so nothing clips."""

    normalise_db: float | None = -1.0  # peak target in dBFS; None leaves the mix's level alone
    max_boost_db: float = 20.0  # never lift a near-silent mix by more than this
    ceiling_db: float = -0.3  # the limiter's ceiling in dBFS
    take_audio: bool = True  # the takes' own sound, if they have any
    take_audio_gain_db: float = 0.0


@dataclass(frozen=True)
class RenderSettings:
    preset: str = "native"
    format: str | None = None  # None: from the output's suffix
    crf: int | None = None  # None: the preset's quality for the format's codec
    bitrate: int | None = None  # bits per second; set, it replaces CRF
    speed: str | None = None  # encoder speed preset (x264/x265); None: the preset's
    fit: str = "fit"
    missing: str = "placeholder"
    transition: Transition = CUT  # every cut's default
    transitions: Mapping[int, Transition] = field(default_factory=dict)  # scene id -> cut into it
    title_card: float = 0.0  # seconds; 0: none
    title_text: str | None = None  # None: the project's title
    end_card: float = 0.0
    end_text: str = "Made with Storyloom"
    card_transition: Transition = Transition("fade", 0.5)
    subtitles: tuple[Cue, ...] = ()
    scenes: tuple[int, ...] | None = None  # scene ids in timeline order; None: the whole film
    take: int | None = None  # export this take alone (its full length, its own sound)
    master: MasterSettings = field(default_factory=MasterSettings)
    sidecar: bool = True  # write OUT.recipe.json beside the output

    def __post_init__(self) -> None:
        if self.fit not in FITS:
            raise RenderError(f"fit must be one of {', '.join(FITS)}, not {self.fit!r}")
        if self.missing not in MISSING:
            raise RenderError(f"missing must be one of {', '.join(MISSING)}, not {self.missing!r}")
        if self.speed is not None and self.speed not in SPEEDS:
            raise RenderError(f"speed must be one of {', '.join(SPEEDS)}, not {self.speed!r}")
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise RenderError(f"CRF must be between 0 and 63, not {self.crf}")
        if self.bitrate is not None and self.bitrate <= 0:
            raise RenderError("the bitrate must be positive")
        for name in ("title_card", "end_card"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise RenderError(f"{name.replace('_', ' ')} must be 0 or more seconds")
        object.__setattr__(self, "transitions", MappingProxyType(dict(self.transitions)))

    def transition_into(self, scene_id: int) -> Transition:
        return self.transitions.get(scene_id, self.transition)
