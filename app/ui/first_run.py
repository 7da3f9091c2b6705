"""The storyboard a new user sees on first start: resources/sample/storyboard.json made into a
project in the user's data folder (elements with simple drawn reference images, the scenes with
their prompts, seeds and elements, and the music and effect tracks). Takes come from generating."""

from __future__ import annotations

import json
import math
import tempfile
import wave
from pathlib import Path

import cv2
import numpy as np
import platformdirs

from app.project import AddAudioClip, AddElement, AddScene, EditSettings, Project, StoryloomError

RATE = 22050


def resources_dir() -> Path:
    """The shipped resources (`storyloom_resources`, i.e. `resources/` in a checkout)."""
    try:
        import storyloom_resources

        return Path(storyloom_resources.__file__).resolve().parent
    except ImportError:  # a source checkout without an install
        return Path(__file__).resolve().parents[2] / "resources"


def sample_spec() -> dict:
    path = resources_dir() / "sample" / "storyboard.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise StoryloomError(f"the sample storyboard is missing or damaged ({path})") from e


def _reference_image(path: Path, image: dict) -> Path:
    """A still of the element on a plain background: (144, 256, 3) drawn with OpenCV."""
    colour = tuple(int(c) for c in reversed(image.get("colour", [200, 200, 200])))  # BGR
    img = np.full((144, 256, 3), 235, np.uint8)
    shape = image.get("shape", "")
    if shape == "backdrop":
        img[:] = colour
        cv2.rectangle(img, (0, 100), (255, 143), tuple(max(0, c - 40) for c in colour), -1)
    elif shape == "lantern":
        cv2.rectangle(img, (108, 50), (148, 110), colour, -1)
        cv2.circle(img, (128, 80), 14, (150, 240, 255), -1)
    else:
        cv2.circle(img, (128, 55), 24, colour, -1)
        cv2.rectangle(img, (108, 80), (148, 130), colour, -1)
    cv2.imwrite(str(path), img)
    return path


def _sound(path: Path, kind: str, seconds: float) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    if kind == "chime":
        y = sum(np.sin(2 * math.pi * f * t) for f in (880, 1320)) * np.exp(-3 * t) * 0.4
    else:  # a soft pad
        y = sum(np.sin(2 * math.pi * f * t) for f in (220, 277.2, 329.6)) * 0.15
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def build_sample(path: Path, cache_dir: Path | None = None) -> Path:
    spec = sample_spec()
    width, height = spec.get("size", [640, 360])
    with (
        Project.create(path, spec["title"], (width, height), spec.get("fps", 24), cache_dir) as p,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        p.execute(EditSettings(style_prompt=spec.get("style", "")))
        for e in spec.get("elements", []):
            images = (
                [_reference_image(folder / f"{e['name']}.png", e["image"])] if "image" in e else []
            )
            p.execute(
                AddElement(
                    name=e["name"],
                    description=e.get("description", ""),
                    kind=e.get("kind", "character"),
                    images=images,
                )
            )
        for s in spec.get("scenes", []):
            p.execute(
                AddScene(
                    prompt=s["prompt"],
                    duration=s.get("duration", 4.0),
                    seed=s.get("seed"),
                    elements=s.get("elements", []),
                    title=s.get("title", ""),
                )
            )
        for a in spec.get("audio", []):
            wav = _sound(
                folder / f"{a.get('sound', 'pad')}.wav",
                a.get("sound", "pad"),
                a.get("seconds", 4.0),
            )
            p.execute(
                AddAudioClip(
                    path=wav,
                    track=a.get("track", "Audio 1"),
                    start=a.get("start", 0.0),
                    gain_db=a.get("gain_db", 0.0),
                    fade_in=a.get("fade_in", 0.0),
                    fade_out=a.get("fade_out", 0.0),
                )
            )
    return path


def sample_path() -> Path:
    return platformdirs.user_data_path("storyloom") / "The Lantern (sample).storyloom"


def ensure_sample(cache_dir: Path | None = None) -> Path:
    """The sample project in the user's data folder, made on first use."""
    path = sample_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        build_sample(path, cache_dir)
    return path
