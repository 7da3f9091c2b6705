"""The CUDA build of torch for a desktop bundle: whether to offer it, the pip command that
installs it, and the pin that makes the engine use it from then on.

A bundle ships the CPU build of torch (a CUDA build is gigabytes). On a machine with an NVIDIA
GPU the editor offers, once, to install the same torch version's CUDA build into a folder the
app owns (`<user data>/torch-cuda`); the pin (`torch-cuda.json`) records what was installed. The
engine process puts that folder in front of its own torch (`launch.engine_env`); a pin for
another torch version (the bundle was updated) is ignored, and the offer comes again.

No torch import (the GUI process never imports it): the bundled build is read from a file.
Apple GPUs (MPS) work with the default build, so macOS is never offered anything.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

PIN_FILE = "torch-cuda.json"
TORCH_DIR = "torch-cuda"
BUILD_INFO = "storyloom_torch.json"  # written into the bundle by packaging/storyloom.spec
INDEX = "https://download.pytorch.org/whl/{tag}"
# CUDA builds and the oldest Linux driver each needs (NVIDIA's CUDA toolkit release notes).
# Newest first; keep in step with the torch version the bundle ships.
CUDA_BUILDS: tuple[tuple[str, int], ...] = (("cu130", 580), ("cu128", 570), ("cu126", 560))
DEFAULT_BUILD = "cu128"


@dataclass(frozen=True)
class TorchBuild:
    version: str  # "2.13.0" (no local tag)
    cuda: str | None  # "12.8", or None for the CPU build

    @property
    def is_cpu(self) -> bool:
        return self.cuda is None


def data_dir() -> Path:
    return platformdirs.user_data_path("storyloom")


# ---- what is installed -----------------------------------------------------------------------


def parse_version_py(text: str) -> TorchBuild:
    """torch/version.py's `__version__` and `cuda`, read as text."""
    version = re.search(r"""^__version__\s*(?::[^=]*)?=\s*['"]([^'"]+)['"]""", text, re.M)
    cuda = re.search(r"""^cuda\s*(?::[^=]*)?=\s*['"]([^'"]+)['"]""", text, re.M)
    if version is None:
        raise ValueError("no __version__ in torch/version.py")
    return TorchBuild(version.group(1).split("+")[0], cuda.group(1) if cuda else None)


def bundled_torch() -> TorchBuild | None:
    """The torch the engine gets by default: the bundle's (from the build record the spec
    writes) or this environment's (its version.py, found without importing torch)."""
    base = getattr(sys, "_MEIPASS", None)
    if base is not None:
        try:
            raw = json.loads((Path(base) / BUILD_INFO).read_text())
            return TorchBuild(raw["version"].split("+")[0], raw.get("cuda"))
        except (OSError, ValueError, KeyError):
            return None
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text()
        return parse_version_py(text)
    except (OSError, ValueError):
        return None


# ---- the GPU -------------------------------------------------------------------------------------


def nvidia_driver(proc: Path = Path("/proc")) -> int | None:
    """The NVIDIA driver's major version from /proc (Linux), or None."""
    try:
        text = (proc / "driver" / "nvidia" / "version").read_text()
    except OSError:
        return None
    m = re.search(r"Kernel Module\s+(?:for \S+\s+)?(\d+)\.\d+", text)
    return int(m.group(1)) if m else 0


def has_nvidia_gpu(proc: Path = Path("/proc"), which=shutil.which) -> bool:  # type: ignore[no-untyped-def]
    return nvidia_driver(proc) is not None or which("nvidia-smi") is not None


def cuda_build_for(driver: int | None) -> str:
    """The newest CUDA build the driver runs; the default when the driver is unknown."""
    if not driver:
        return DEFAULT_BUILD
    for tag, needs in CUDA_BUILDS:
        if driver >= needs:
            return tag
    return CUDA_BUILDS[-1][0]


# ---- the offer, the command, the pin ----------------------------------------------------------


def should_offer(
    *,
    platform: str,
    frozen: bool,
    gpu: bool,
    torch: TorchBuild | None,
    pinned: bool,
    declined: bool,
) -> bool:
    """Offer the CUDA build: a bundle on Linux or Windows with an NVIDIA GPU, a CPU torch, no
    working pin and no earlier 'no'."""
    return (
        frozen
        and platform in ("linux", "win32")
        and gpu
        and torch is not None
        and torch.is_cpu
        and not pinned
        and not declined
    )


def install_command(pip: list[str], target: Path, version: str, tag: str) -> list[str]:
    """pip installing torch==VERSION's CUDA build (and its CUDA libraries) into `target`."""
    return [
        *pip,
        "install",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--target",
        str(target),
        "--index-url",
        INDEX.format(tag=tag),
        "--extra-index-url",
        "https://pypi.org/simple",
        f"torch=={version}",
    ]


def staging_dir(data: Path | None = None) -> Path:
    return (data or data_dir()) / f"{TORCH_DIR}.partial"


def finish_install(version: str, tag: str, data: Path | None = None) -> Path:
    """Move a completed install from the staging folder into place and pin it."""
    data = data or data_dir()
    staged, final = staging_dir(data), data / TORCH_DIR
    if not (staged / "torch").is_dir():
        raise FileNotFoundError(f"pip left no torch in {staged}")
    if final.exists():
        shutil.rmtree(final)
    staged.rename(final)
    pin = {"torch": version, "build": tag, "path": TORCH_DIR}
    (data / PIN_FILE).write_text(json.dumps(pin, indent=2) + "\n")
    return final


def pinned_torch_dir(data: Path | None = None, torch: TorchBuild | None = None) -> Path | None:
    """The installed CUDA torch's folder when the pin matches the bundled torch's version."""
    data = data or data_dir()
    try:
        pin = json.loads((data / PIN_FILE).read_text())
    except (OSError, ValueError):
        return None
    torch = torch if torch is not None else bundled_torch()
    folder = data / str(pin.get("path", TORCH_DIR))
    if torch is None or pin.get("torch") != torch.version or not (folder / "torch").is_dir():
        return None
    return folder
