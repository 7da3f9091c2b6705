"""A scene of a project -> the engine's generation request (DESIGN.md section 3).

The prompt is the scene's prompt (`@Mara` becomes `Mara`) followed by the project's style
prompt; the reference images are those of the scene's elements; the start image is the scene's;
with carry-over on, `previous` is the previous scene's chosen take. Generation settings come from
the project's `generation` defaults, overridden by the scene's own (steps, guidance); without a
size there, the model's native pixel count is
reshaped to the project's aspect ratio (export scales takes to the project's frame size).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Any

import av
import cv2
import numpy as np

from app.project import Project, SceneView

from .client import b64
from .errors import EngineClientError

MENTION = re.compile(r"@([\w][\w-]*)")
MAX_REFERENCES = 8
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_PREVIOUS_BYTES = 24 * 2**20  # larger takes are sent as their last frames instead
PREVIOUS_FRAMES = 9
SETTINGS = ("steps", "guidance", "context_guidance")  # optional project generation defaults


@dataclass(frozen=True)
class SceneRequest:
    scene_id: int
    body: dict[str, Any]  # sent to the engine (media as base64)
    record: dict[str, Any]  # stored in the RenderJob row: the same without media, with asset ids


def engine_prompt(scene: SceneView, style: str) -> str:
    known = {n.lower() for n in scene.elements}
    text = MENTION.sub(
        lambda m: m.group(1) if m.group(1).lower() in known else m.group(0), scene.prompt
    )
    style = style.strip()
    return f"{text.strip().rstrip('.')}. {style}" if style and text.strip() else (text or style)


def generation_size(
    project_size: tuple[int, int], model: dict[str, Any], settings: dict[str, Any]
) -> tuple[int, int]:
    """The project's aspect ratio at the model's native pixel count, in multiples of `multiple`."""
    m = int(model.get("multiple") or 16)
    if settings.get("width") and settings.get("height"):
        w, h = int(settings["width"]), int(settings["height"])
    else:
        area = int(model.get("native_width") or 256) * int(model.get("native_height") or 144)
        aspect = project_size[0] / project_size[1]
        w, h = math.sqrt(area * aspect), math.sqrt(area / aspect)
    return max(m, round(w / m) * m), max(m, round(h / m) * m)


def image_for_engine(data: bytes, name: str) -> bytes:
    """PNG/JPEG bytes within the engine's limits pass as they are; others become PNG."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise EngineClientError(f"{name} cannot be decoded as an image")
    h, w = img.shape[:2]
    native = data[:8] == b"\x89PNG\r\n\x1a\n" or data[:2] == b"\xff\xd8"
    if native and w * h <= MAX_IMAGE_PIXELS:
        return data
    s = min(1.0, math.sqrt(MAX_IMAGE_PIXELS / (w * h)))
    if s < 1:
        img = cv2.resize(
            img, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise EngineClientError(f"{name} cannot be re-encoded as PNG")
    return buf.tobytes()


def last_frames_png(video: bytes, n: int = PREVIOUS_FRAMES) -> list[bytes]:
    """The last `n` frames of a video as PNG bytes (for takes too large to send whole)."""
    frames: list[np.ndarray] = []
    with av.open(io.BytesIO(video)) as box:
        for frame in box.decode(video=0):
            frames = (frames + [frame.to_ndarray(format="bgr24")])[-n:]
    return [cv2.imencode(".png", f)[1].tobytes() for f in frames]


def _bytes(project: Project, asset_id: int) -> bytes:
    return b"".join(project.iter_asset(asset_id))


def previous_take_id(project: Project, scene: SceneView) -> int | None:
    """The take this scene carries over from: the chosen take of the scene before it."""
    if not scene.carry_over or scene.carry_over_strength <= 0 or scene.position == 0:
        return None
    before = [s for s in project.scenes() if s.position == scene.position - 1]
    return before[0].chosen_take_id if before else None


def build(
    project: Project, scene_id: int, model: dict[str, Any], take_index: int = 0
) -> SceneRequest:
    info, scene = project.info(), project.scene(scene_id)
    # the scene's own overrides (steps, guidance) win over the project's defaults
    settings = {**(info.generation or {}), **(scene.generation or {})}
    width, height = generation_size((info.width, info.height), model, settings)
    seed = None if scene.seed is None else int(scene.seed) + take_index
    body: dict[str, Any] = {
        "prompt": engine_prompt(scene, info.style_prompt),
        "negative_prompt": scene.negative_prompt or settings.get("negative_prompt", ""),
        "width": width,
        "height": height,
        "seconds": float(scene.duration),
        "fps": min(120.0, float(settings.get("fps") or info.fps)),
        "seed": seed,
        "carry_over_strength": float(scene.carry_over_strength),
    }
    body.update({k: settings[k] for k in SETTINGS if settings.get(k) is not None})
    record = dict(body, scene_id=scene_id, take_index=take_index, model=model.get("id"))

    if scene.image_asset_id is not None:
        body["image"] = b64(
            image_for_engine(_bytes(project, scene.image_asset_id), "the start image")
        )
        record["image_asset_id"] = scene.image_asset_id
    refs = _reference_assets(project, scene)
    if refs:
        body["references"] = [
            b64(image_for_engine(_bytes(project, a), "a reference image")) for a in refs
        ]
        record["reference_asset_ids"] = refs
    prev = previous_take_id(project, scene)
    if prev is not None:
        video = _bytes(project, project.take(prev).asset_id)
        body["previous"] = (
            b64(video)
            if len(video) <= MAX_PREVIOUS_BYTES
            else [b64(f) for f in last_frames_png(video)]
        )
        record["previous_take_id"] = prev
    return SceneRequest(scene_id, body, record)


def _reference_assets(project: Project, scene: SceneView) -> list[int]:
    """The scene's elements' images, one of each element in turn, at most MAX_REFERENCES."""
    wanted = {n.lower() for n in scene.elements}
    lists = [list(e.image_asset_ids) for e in project.elements() if e.name.lower() in wanted]
    out: list[int] = []
    while any(lists) and len(out) < MAX_REFERENCES:
        for images in lists:
            if images and len(out) < MAX_REFERENCES:
                out.append(images.pop(0))
    return out
