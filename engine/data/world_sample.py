"""Drawing random scenes and stories of the world, with their exact tracks (numpy, seeded)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from engine.data.backgrounds import N_PARAMS, background_names, colours_far_from
from engine.data.backgrounds import photos as photo_images
from engine.data.captions import describe
from engine.data.world_spec import (
    CAMERA_MOVES,
    COLOURS,
    EXTENT,
    MOVES,
    PALETTE,
    PATTERNS,
    SHAPES,
    SIZES,
    TEXTURED,
    Background,
    Look,
    SceneSpec,
)

SPEEDS = {"slow": 0.22, "fast": 0.45}  # fraction of the frame crossed per second
GRAVITY = 6.0  # frame heights per second squared


def sample_look(rng: np.random.Generator, colours: list[str] | None = None) -> Look:
    colour = str(rng.choice(colours or list(COLOURS)))
    size = str(rng.choice(list(SIZES)))
    base = np.array(PALETTE[colour], np.float32)
    pcols = []
    while len(pcols) < 4:  # pattern colours: random, but clearly unlike the main colour
        c = rng.integers(0, 256, 3).astype(np.float32)
        if np.sqrt(((c - base) ** 2).sum()) > 120:
            pcols.append(tuple(float(x) / 255.0 for x in c))
    return Look(
        shape=str(rng.choice(SHAPES)),
        colour=colour,
        size=size,
        radius_frac=SIZES[size] * float(rng.uniform(0.92, 1.08)),
        pattern=str(rng.choice(PATTERNS)),
        pattern_colours=tuple(pcols),
        pattern_params=(
            float(rng.uniform(0, math.pi)),
            float(rng.uniform(1.6, 2.6)),
            float(rng.random()),
            float(rng.random()),
        ),
    )


def sample_background(
    rng: np.random.Generator, family: str, colours: list[str], photos: bool = False
) -> Background:
    """A background on which every colour in `colours` stands out. Photos (scikit-image's, a
    training-only extra) only when asked for: whether a package happens to be installed must not
    change a seeded world."""
    if family == "camera":
        cands = [
            (k, n) for k, n in background_names(with_photos=photos) if n in TEXTURED or k == "photo"
        ]
    else:
        cands = [(k, n) for k, n in background_names(with_photos=False)]
    ok = [(k, n) for k, n in cands if set(colours) <= set(colours_far_from(k, n))]
    kind, name = ok[int(rng.integers(len(ok)))] if ok else cands[int(rng.integers(len(cands)))]
    params = [float(x) for x in rng.random(N_PARAMS)]
    if kind == "photo":
        params[0] = float(rng.integers(len(photo_images()))) / len(photo_images())
    return Background(kind, name, tuple(params))


# ---------------------------------------------------------------- tracks
def _physics(y0, x0, vx, r, T, fps, W, H, mode):
    """Simulated (T, 2) x, y of a body under gravity: bounce (e=0.8), fall (e=0.3), jump."""
    g = GRAVITY * H
    ground = H - EXTENT * r - 1
    lo_x, hi_x = EXTENT * r + 1, W - EXTENT * r - 1
    e = {"bounce": 0.8, "fall": 0.3, "jump": 0.0}[mode]
    sub = 16
    dt = 1.0 / (fps * sub)
    x, y, vy, rest = x0, y0, 0.0, 0.15
    out = np.zeros((T, 2))
    for i in range(T * sub):
        if i % sub == 0:
            out[i // sub] = (x, y)
        on_ground = y >= ground - 1e-6 and abs(vy) < 1e-6
        if mode == "jump" and on_ground:
            rest -= dt
            if rest <= 0:
                vy, rest = -math.sqrt(2 * g * 0.5 * (ground - EXTENT * r)), 0.25
        if not on_ground or vy < 0:
            vy += g * dt
            y += vy * dt
            if y >= ground:
                y = ground
                vy = -vy * e if abs(vy * e) > 0.05 * g * 0.2 else 0.0
        x += vx * dt
        if x < lo_x or x > hi_x:
            x = min(max(x, lo_x), hi_x)
            vx = -vx
    return out


def _move_room(x, y, r, W, H, d):
    """Free distance in front of the object when it moves in direction d."""
    m = EXTENT * r + 1
    return {"left": x - m, "right": W - m - x, "up": y - m, "down": H - m - y}[d]


def object_track(rng, action, speed, start, T, fps, W, H):
    """(T, 4) x, y, radius, angle for one object doing `action` from start (x, y, r)."""
    x, y, r = start
    t = np.arange(T) / fps
    dur = max(t[-1], 1e-6)
    out = np.zeros((T, 4))
    out[:, 0], out[:, 1], out[:, 2] = x, y, r
    if action.startswith("move_"):
        d = action[5:]
        extent = W if d in ("left", "right") else H
        dist = min(SPEEDS[speed] * extent * dur, max(0.0, _move_room(x, y, r, W, H, d)))
        sign = -1.0 if d in ("left", "up") else 1.0
        axis = 0 if d in ("left", "right") else 1
        out[:, axis] += sign * dist * t / dur
    elif action in ("bounce", "fall", "jump"):
        vx = 0.0 if action != "bounce" else float(rng.choice([-1, 1]) * rng.uniform(0.0, 0.15) * W)
        out[:, :2] = _physics(y, x, vx, r, T, fps, W, H, action)
    elif action in ("grow", "shrink"):
        k = 1.6 if action == "grow" else 0.55
        out[:, 2] = r * np.exp(np.log(k) * t / dur)
    elif action == "spin":
        out[:, 3] = float(rng.choice([-1, 1])) * float(rng.uniform(1.2, 2.0)) * math.pi * t
    return out


def _free_position(rng, r, W, H, grow=1.0):
    m = EXTENT * r * grow + 1
    return float(rng.uniform(m, max(m + 1, W - m))), float(rng.uniform(m, max(m + 1, H - m)))


def _in_frame(spec: SceneSpec) -> bool:
    st = spec.screen_tracks()
    m = EXTENT * st[..., 2]
    return bool(
        np.all(st[..., 0] - m >= -1)
        and np.all(st[..., 0] + m <= spec.width + 1)
        and np.all(st[..., 1] - m >= -1)
        and np.all(st[..., 1] + m <= spec.height + 1)
    )


def camera_track(move: str, T: int, fps: float, W: int, H: int) -> np.ndarray:
    """(T, 3) camera offset x, y (world px) and zoom; a pan to the left shifts the view left."""
    t = np.arange(T) / fps
    s = t / max(t[-1], 1e-6) - 0.5  # -0.5 .. 0.5
    dur = max(t[-1], 1e-6)
    out = np.zeros((T, 3))
    out[:, 2] = 1.0
    if move in ("pan_left", "pan_right"):
        d = min(0.25 * W * dur, 0.4 * W)
        out[:, 0] = s * d * (1 if move == "pan_right" else -1)
    elif move in ("tilt_up", "tilt_down"):
        d = min(0.25 * H * dur, 0.4 * H)
        out[:, 1] = s * d * (1 if move == "tilt_down" else -1)
    elif move in ("zoom_in", "zoom_out"):
        out[:, 2] = np.exp((s + 0.5) * math.log(1.5) * (1 if move == "zoom_in" else -1))
    if move in ("pan_left", "pan_right", "tilt_up", "tilt_down"):  # frame 0 = the home view
        out[:, :2] -= out[:1, :2]
    return out


# ---------------------------------------------------------------- scenes
def _pick_action(rng, family, look, start, W, H):
    x, y, r = start
    if family == "motion":
        room = {
            d: _move_room(x, y, r, W, H, d) / (W if d in ("left", "right") else H) for d in MOVES
        }
        dirs = [d for d in MOVES if room[d] > 0.3] or [max(room, key=room.get)]
        return "move_" + str(rng.choice(dirs)), str(rng.choice(list(SPEEDS)))
    if family == "physics":
        ground = H - EXTENT * r - 1
        if ground - y < 0.25 * H:  # already near the ground: only a jump shows motion
            return "jump", ""
        return str(rng.choice(["bounce", "bounce", "fall", "jump"])), ""
    if family == "transform":
        opts = ["grow"] + (["shrink"] if look.size != "small" else [])  # stay >= ~10 px
        opts += ["spin"] if look.shape != "circle" else []
        return str(rng.choice(opts)), ""
    return "still", ""


def sample_scene(
    rng: np.random.Generator,
    width: int,
    height: int,
    frames: int,
    fps: float,
    family: str,
    *,
    looks: list[Look] | None = None,
    starts: list[tuple[float, float, float]] | None = None,
    background: Background | None = None,
    heldout: bool = False,
    photos: bool = False,
    continues: bool = False,
) -> SceneSpec:
    """One scene of `family`. looks/starts/background pin characters and a continued state;
    `continues`: it carries on from the previous scene (its caption may say "Then ...")."""
    W, H, T, S = width, height, frames, min(width, height)
    n_obj = 2 if family == "two_objects" else 1
    if family == "camera" and looks is None and background is None and rng.random() < 0.35:
        n_obj = 0
    if looks is None:
        looks = []
        for _ in range(n_obj):
            used = [lk.colour for lk in looks]
            looks.append(sample_look(rng, [c for c in COLOURS if c not in used]))
    looks = looks[:n_obj] if family != "two_objects" else looks
    if family == "two_objects" and len(looks) < 2:
        looks = looks + [sample_look(rng, [c for c in COLOURS if c != looks[0].colour])]
    if family == "camera" and n_obj == 0 and background is None and rng.random() < 0.4:
        background = _picture(rng, W, H)
    bg = background or sample_background(rng, family, [lk.colour for lk in looks], photos)
    camera = "static"
    if family == "camera":
        camera = str(rng.choice(CAMERA_MOVES[1:])) if rng.random() > 1 / 7 else "static"
    cam = camera_track(camera, T, fps, W, H)
    for _attempt in range(60):
        actions, speeds, tracks, relation = [], [], [], ""
        if family == "two_objects":
            tracks, actions, speeds, relation = _two_objects(rng, looks, S, T, fps, W, H)
        else:
            for i, lk in enumerate(looks):
                r = lk.radius_frac * S
                grow = 1.6 if family == "transform" else 1.0
                start = starts[i] if starts else (*_free_position(rng, r, W, H, grow), r)
                if family == "physics" and not starts:
                    start = (start[0], float(rng.uniform(EXTENT * r + 1, 0.4 * H)), r)
                action, speed = _pick_action(rng, family, lk, start, W, H)
                actions.append(action)
                speeds.append(speed)
                tracks.append(object_track(rng, action, speed, start, T, fps, W, H))
        spec = SceneSpec(
            width=W,
            height=H,
            frames=T,
            fps=fps,
            family=family,
            background=bg,
            looks=list(looks),
            actions=actions,
            speeds=speeds,
            tracks=np.stack(tracks) if tracks else np.zeros((0, T, 4)),
            camera=camera,
            camera_track=cam,
            relation=relation,
            heldout_caption=heldout,
            continues=continues,
        )
        if starts or _in_frame(spec):
            break
    spec.caption = describe(spec, rng, heldout=heldout)
    return spec


def _two_objects(rng, looks, S, T, fps, W, H):
    """Two objects beside or above each other; sometimes the first pushes the second."""
    ra, rb = (lk.radius_frac * S for lk in looks[:2])
    relation = str(rng.choice(["left_of", "right_of", "above", "below"]))
    push = relation in ("left_of", "right_of") and rng.random() < 0.4
    gap = float(rng.uniform(0.08, 0.25)) * W
    if relation in ("left_of", "right_of"):
        y = float(rng.uniform(EXTENT * max(ra, rb) + 1, H - EXTENT * max(ra, rb) - 1))
        span = EXTENT * (ra + rb) + gap
        x0 = float(rng.uniform(EXTENT * ra + 1, max(EXTENT * ra + 2, W - span - EXTENT * rb - 1)))
        if push:  # the pusher starts further away and the pushed one has room to travel
            x0 = float(rng.uniform(EXTENT * ra + 1, EXTENT * ra + 0.1 * W))
        xa, xb = (x0, x0 + span) if relation == "left_of" else (x0 + span, x0)
        if push and relation == "right_of":
            xa, xb = W - x0, W - x0 - span
        a, b = (xa, y + rng.uniform(-0.05, 0.05) * H, ra), (xb, y, rb)
    else:
        x = float(rng.uniform(EXTENT * max(ra, rb) + 1, W - EXTENT * max(ra, rb) - 1))
        span = EXTENT * (ra + rb) + float(rng.uniform(0.02, 0.15)) * H
        y0 = float(rng.uniform(EXTENT * ra + 1, max(EXTENT * ra + 2, H - span - EXTENT * rb - 1)))
        ya, yb = (y0, y0 + span) if relation == "above" else (y0 + span, y0)
        a, b = (x + rng.uniform(-0.05, 0.05) * W, ya, ra), (x, yb, rb)
    ta = object_track(rng, "still", "", a, T, fps, W, H)
    tb = object_track(rng, "still", "", b, T, fps, W, H)
    if not push:
        return [ta, tb], ["still", "still"], ["", ""], relation
    # the pusher moves at speed v until the two touch, then stops and the other moves on
    sign = 1.0 if relation == "left_of" else -1.0
    v = SPEEDS["fast"] * W
    t = np.arange(T) / fps
    contact = (abs(b[0] - a[0]) - (ra + rb)) / v
    lim = (W - EXTENT * rb - 1) if sign > 0 else EXTENT * rb + 1
    ta[:, 0] = a[0] + sign * v * np.minimum(t, contact)
    pushed = b[0] + sign * 0.8 * v * np.maximum(t - contact, 0)
    tb[:, 0] = np.minimum(pushed, lim) if sign > 0 else np.maximum(pushed, lim)
    return [ta, tb], ["push", "pushed"], ["fast", ""], relation


def image_scene(
    image: np.ndarray, camera: str, frames: int, fps: float, *, seed: int = 0, heldout: bool = False
) -> SceneSpec:
    """A camera move over an arbitrary start image (H, W, 3) uint8: frame 0 is the image itself;
    beyond its borders the picture is mirrored."""
    img = np.ascontiguousarray(np.asarray(image, np.uint8)[..., :3])
    H, W = img.shape[:2]
    spec = SceneSpec(
        width=W,
        height=H,
        frames=frames,
        fps=fps,
        family="camera",
        background=Background("image", "image", image=img),
        looks=[],
        actions=[],
        speeds=[],
        tracks=np.zeros((0, frames, 4)),
        camera=camera,
        camera_track=camera_track(camera, frames, fps, W, H),
        heldout_caption=heldout,
    )
    spec.caption = describe(spec, np.random.default_rng(seed), heldout=heldout)
    return spec


def _picture(rng, width: int, height: int) -> Background:
    """A rendered still of another scene, used as an arbitrary picture for a camera to move over."""
    from engine.data.world_render import render_uint8  # the renderer imports this module

    kind, name = [(k, n) for k, n in background_names(with_photos=False) if n in TEXTURED][
        int(rng.integers(len(TEXTURED)))
    ]
    bg = Background(kind, name, tuple(float(x) for x in rng.random(N_PARAMS)))
    family = str(rng.choice(["still", "two_objects"]))
    still = sample_scene(rng, width, height, 1, 1.0, family, background=bg)
    return Background("image", "image", image=render_uint8(still)[0])


# ---------------------------------------------------------------- stories
def end_state(spec: SceneSpec) -> list[tuple[float, float, float]]:
    st = spec.screen_tracks()
    return [(float(s[-1, 0]), float(s[-1, 1]), float(s[-1, 2])) for s in st]


def next_scene(
    rng, prev: SceneSpec, family: str, cont: bool, heldout: bool = False, photos: bool = False
) -> SceneSpec:
    """The scene after `prev` with the same characters: continuing where it ended, or a cut."""
    looks = prev.looks
    if family == "two_objects" and len(looks) < 2:
        family = "motion"
    if family != "two_objects" and len(looks) > 1:
        looks = looks[:1]
    if cont and (prev.camera != "static" or family in ("camera", "two_objects")):
        cont = False
    kw = {}
    if cont:
        starts = end_state(prev)[: len(looks)]
        kw = dict(starts=starts, background=prev.background)
    spec = sample_scene(
        rng,
        prev.width,
        prev.height,
        prev.frames,
        prev.fps,
        family,
        looks=looks,
        heldout=heldout,
        photos=photos,
        continues=cont,  # before the caption is written: a continuation may read "Then ..."
        **kw,
    )
    return replace(spec, story_id=prev.story_id, scene_index=prev.scene_index + 1)


def sample_story(
    rng: np.random.Generator,
    width: int,
    height: int,
    frames: int,
    fps: float,
    n_scenes: int,
    families: list[str],
    weights: list[float],
    story_id: int = 0,
    heldout: bool = False,
) -> list[SceneSpec]:
    """2-5 scenes with the same characters (same identity patterns), continuing or cutting."""
    p = np.asarray(weights, np.float64) / np.sum(weights)
    fam = str(rng.choice(families, p=p))
    first = sample_scene(rng, width, height, frames, fps, fam, heldout=heldout)
    if not first.looks:  # a camera move with nobody in it cannot start a story
        first = sample_scene(rng, width, height, frames, fps, "still", heldout=heldout)
    scenes = [replace(first, story_id=story_id)]
    while len(scenes) < n_scenes:
        fam = str(rng.choice(families, p=p))
        if fam == "camera":
            fam = "still"
        scenes.append(next_scene(rng, scenes[-1], fam, bool(rng.random() < 0.5), heldout))
    return scenes
