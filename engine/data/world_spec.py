"""The story world's vocabulary and ground-truth scene description (no torch, no rendering).

A `SceneSpec` is everything that is drawn: the background, the camera path and, per object, its look
(shape, colour, size, identity pattern) and its track (position, radius and angle for every frame).
The renderer draws it, the captioner describes it, and the detector is scored against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

# ---------------------------------------------------------------- vocabulary
# Twelve vivid colours, far apart in RGB (pairwise distance >= 100) so a blurry render still names one.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 130, 0),
    "yellow": (245, 225, 20),
    "lime": (150, 230, 40),
    "green": (30, 150, 50),
    "cyan": (0, 205, 225),
    "blue": (30, 60, 220),
    "purple": (130, 40, 190),
    "pink": (250, 120, 200),
    "brown": (120, 70, 20),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
COLOURS: tuple[str, ...] = tuple(PALETTE)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "ring", "cross")
# radius as a fraction of min(width, height): 12, 17 and 24 px at 256x144
SIZES: dict[str, float] = {"small": 0.085, "medium": 0.12, "large": 0.165}
PATTERNS: tuple[str, ...] = ("stripes", "dots", "checks", "two_tone", "confetti")
MOVES: tuple[str, ...] = ("left", "right", "up", "down")
CAMERA_MOVES: tuple[str, ...] = (
    "static",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "zoom_in",
    "zoom_out",
)
# each move and camera move, and the one that undoes it
OPPOSITE: dict[str, str] = {
    "left": "right",
    "right": "left",
    "up": "down",
    "down": "up",
    "pan_left": "pan_right",
    "pan_right": "pan_left",
    "tilt_up": "tilt_down",
    "tilt_down": "tilt_up",
    "zoom_in": "zoom_out",
    "zoom_out": "zoom_in",
}
# backgrounds: kind -> names. Solid backgrounds use the palette names.
BACKGROUNDS: dict[str, tuple[str, ...]] = {
    "solid": COLOURS,
    "gradient": ("sky", "sunset", "night"),
    "ground": ("grass", "beach", "snow", "desert"),
    "landscape": ("hills", "mountains"),
    "texture": ("clouds", "bricks", "tiles"),
}
# backgrounds with enough texture for a camera move to be seen
TEXTURED: tuple[str, ...] = ("hills", "mountains", "clouds", "bricks", "tiles")
FAMILIES: tuple[str, ...] = ("still", "motion", "physics", "transform", "camera", "two_objects")
REFERENCE_GREY = (127, 127, 127)  # the plain background of reference stills (no palette colour)
EXTENT = 1.25  # a shape reaches at most this many radii from its centre (star, triangle)
CAMERA_MARGIN = 0.45  # a photo covers this fraction of the frame beyond the first view, each side


def background_class(kind: str, name: str) -> str:
    """The label the detector predicts for a background ("solid:red", "sunset", "photo")."""
    return f"solid:{name}" if kind == "solid" else name


def all_background_classes() -> list[str]:
    return [background_class(k, n) for k, names in BACKGROUNDS.items() for n in names]


# ---------------------------------------------------------------- specs
@dataclass(frozen=True)
class Look:
    """A character's appearance. The pattern (kind, colours, params) is its identity."""

    shape: str
    colour: str
    size: str
    radius_frac: float  # radius / min(W, H), jittered around SIZES[size]
    pattern: str
    pattern_colours: tuple[tuple[float, float, float], ...]  # 4 RGB colours in [0, 1]
    pattern_params: tuple[float, ...]  # (angle, frequency, phase_u, phase_v)

    def rgb(self) -> tuple[float, float, float]:
        r, g, b = PALETTE[self.colour]
        return (r / 255.0, g / 255.0, b / 255.0)


@dataclass(frozen=True)
class Background:
    kind: str  # solid | gradient | ground | landscape | texture | photo | image
    name: str
    params: tuple[float, ...] = ()  # random phases etc. drawn when the scene is sampled
    image: np.ndarray | None = field(default=None, compare=False, repr=False)  # (H, W, 3) uint8

    @property
    def label(self) -> str:
        return background_class(self.kind, self.name)


@dataclass
class SceneSpec:
    """Ground truth of one clip. Tracks are in world pixels of the un-moved camera view."""

    width: int
    height: int
    frames: int
    fps: float
    family: str
    background: Background
    looks: list[Look]
    actions: list[
        str
    ]  # per object: still | move_left.. | bounce | jump | fall | grow | shrink | spin | push
    speeds: list[str]  # per object: "slow" | "fast" | ""
    tracks: np.ndarray  # (N, T, 4): x, y, radius, angle (radians) per object and frame
    camera: str = "static"
    camera_track: np.ndarray | None = None  # (T, 3): offset x, offset y (px), zoom
    relation: str = ""  # for two objects: "left_of" | "right_of" | "above" | "below"
    caption: str = ""
    heldout_caption: bool = False
    story_id: int = -1
    scene_index: int = 0
    continues: bool = False  # starts where the previous scene ended

    def __post_init__(self) -> None:
        if self.camera_track is None:
            self.camera_track = np.tile(np.array([0.0, 0.0, 1.0]), (self.frames, 1))

    @property
    def direction(self) -> str:
        """The first object's move direction ("" when it does not move along an axis)."""
        a = self.actions[0] if self.actions else ""
        return a.split("_", 1)[1] if a.startswith("move_") else ""

    def screen_tracks(self) -> np.ndarray:
        """(N, T, 4) tracks as seen through the camera: x, y, radius, angle in frame pixels."""
        cam = self.camera_track  # (T, 3)
        cx, cy = self.width / 2.0, self.height / 2.0
        out = self.tracks.copy()
        z = cam[None, :, 2]
        out[..., 0] = (self.tracks[..., 0] - cx - cam[None, :, 0]) * z + cx
        out[..., 1] = (self.tracks[..., 1] - cy - cam[None, :, 1]) * z + cy
        out[..., 2] = self.tracks[..., 2] * z
        return out


def tail(spec: SceneSpec, n: int) -> SceneSpec:
    """The scene restricted to its last `n` frames (the carry-over context of the next scene)."""
    n = max(1, min(n, spec.frames))
    return replace(
        spec,
        frames=n,
        tracks=spec.tracks[:, -n:].copy(),
        camera_track=spec.camera_track[-n:].copy(),
    )


def reference_spec(look: Look, width: int, height: int) -> SceneSpec:
    """A still of one character, centred, large, on the plain grey background."""
    r = 0.3 * min(width, height)
    look = replace(look, radius_frac=0.3)
    tracks = np.array([[[width / 2.0, height / 2.0, r, 0.0]]])
    grey = tuple(c / 255.0 for c in REFERENCE_GREY)
    return SceneSpec(
        width=width,
        height=height,
        frames=1,
        fps=1.0,
        family="reference",
        background=Background("plain", "grey", grey),
        looks=[look],
        actions=["still"],
        speeds=[""],
        tracks=tracks,
    )
