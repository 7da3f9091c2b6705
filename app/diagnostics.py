"""What a user sends with a problem report: one zip with the log files, the versions of Python,
Qt, torch, PyAV and Storyloom, the OS, the GPU, and the preferences with secrets blanked.
Help > "Collect diagnostics…" writes it; nothing is sent anywhere."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import sys
import time
import zipfile
from pathlib import Path

import platformdirs

from app.engine_client import torch_env

PACKAGES = (
    "storyloom",
    "PySide6-Essentials",
    "PySide6-Addons",
    "torch",
    "av",
    "numpy",
    "opencv-python-headless",
    "SQLAlchemy",
    "platformdirs",
)
SECRET_KEYS = re.compile(r"^(\s*[\w/]*(token|password|secret|key)\w*\s*=).*$", re.I | re.M)


def redact(ini_text: str) -> str:
    """An INI file with the value of every token/password/secret/key blanked."""
    return SECRET_KEYS.sub(r"\1 <redacted>", ini_text)


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    torch = torch_env.bundled_torch()  # read from a file: the GUI process never imports torch
    out["torch (engine)"] = None if torch is None else f"{torch.version} cuda={torch.cuda}"
    return out


def system() -> dict[str, object]:
    return {
        "os": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "nvidia_driver": torch_env.nvidia_driver(),
        "nvidia_gpu": torch_env.has_nvidia_gpu(),
        "cuda_torch_pinned": str(torch_env.pinned_torch_dir() or ""),
    }


def collect(out: Path, log_folder: Path, prefs_file: Path | None = None) -> Path:
    """Write the diagnostics zip to OUT and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        info = {"written": time.strftime("%Y-%m-%d %H:%M:%S %z"), "versions": versions()}
        info["system"] = system()
        z.writestr("system.json", json.dumps(info, indent=2) + "\n")
        for log in sorted(log_folder.glob("*.log*")) if log_folder.is_dir() else []:
            z.write(log, f"logs/{log.name}")
        if prefs_file is not None and prefs_file.is_file():
            z.writestr("preferences.ini", redact(prefs_file.read_text(errors="replace")))
    return out


def default_path() -> Path:
    """~/Documents (or the home folder) / storyloom-diagnostics-DATE.zip"""
    folder = platformdirs.user_documents_path()
    if not folder.is_dir():
        folder = Path.home()
    return folder / time.strftime("storyloom-diagnostics-%Y%m%d-%H%M%S.zip")
