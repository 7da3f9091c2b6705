"""Where the shipped resources live: the `storyloom_resources` package (`resources/` in the
repository), found the same way in an editable install, a normal install and a frozen bundle."""

from __future__ import annotations

from pathlib import Path

from engine.request import EngineError

DEFAULT_MODEL = "storyloom-tiny"


def resources_dir() -> Path:
    try:
        import storyloom_resources

        return Path(storyloom_resources.__file__).resolve().parent
    except ImportError:  # running from a source checkout without an install
        here = Path(__file__).resolve().parent.parent / "resources"
        if here.is_dir():
            return here
        raise EngineError("Storyloom's resources are missing: reinstall the application") from None


def default_model_dir() -> Path:
    path = resources_dir() / "models" / DEFAULT_MODEL
    if not (path / "config.json").is_file():
        raise EngineError(
            f"the default model is missing from {path}: reinstall, or pass --model DIR"
        )
    return path
