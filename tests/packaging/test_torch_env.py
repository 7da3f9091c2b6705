"""The CUDA torch offer's decisions (pure functions, real files): when it is offered, which
CUDA build a driver gets, the pip command, and the pin the engine's launch follows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine_client import launch, torch_env
from app.engine_client.torch_env import TorchBuild

ENV = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
CPU = TorchBuild("2.13.0", None)
OFFER = dict(platform="linux", frozen=True, gpu=True, torch=CPU, pinned=False, declined=False)


def test_offered_only_to_a_cpu_bundle_on_an_nvidia_machine_that_has_not_answered():
    assert torch_env.should_offer(**OFFER)
    for change in (
        {"frozen": False},  # a source install manages its own torch (README)
        {"gpu": False},
        {"platform": "darwin"},  # MPS works with the default build
        {"torch": TorchBuild("2.13.0", "12.8")},
        {"torch": None},
        {"pinned": True},
        {"declined": True},
    ):
        assert not torch_env.should_offer(**{**OFFER, **change}), change
    assert torch_env.should_offer(**{**OFFER, "platform": "win32"})


def test_version_py_is_read_without_importing_torch():
    cpu = "__version__ = '2.13.0+cpu'\ndebug = False\ncuda: Optional[str] = None\n"
    assert torch_env.parse_version_py(cpu) == CPU
    gpu = "__version__ = '2.13.0+cu128'\ncuda: Optional[str] = '12.8'\n"
    assert torch_env.parse_version_py(gpu) == TorchBuild("2.13.0", "12.8")
    # this environment's torch (the CPU build), found in a process that never imports it
    code = (
        "import sys; from app.engine_client import torch_env; b = torch_env.bundled_torch(); "
        "print(b.version, b.is_cpu, 'torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    version, is_cpu, imported = r.stdout.split()
    assert version.startswith("2.") and is_cpu == "True" and imported == "False", r.stderr


def test_the_driver_picks_the_newest_cuda_build_it_runs(tmp_path: Path):
    proc = tmp_path / "proc"
    assert torch_env.nvidia_driver(proc) is None
    assert not torch_env.has_nvidia_gpu(proc, which=lambda _name: None)
    (proc / "driver" / "nvidia").mkdir(parents=True)
    (proc / "driver" / "nvidia" / "version").write_text(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.124.06  Thu Mar 13 2025\n"
    )
    assert torch_env.nvidia_driver(proc) == 570
    assert torch_env.has_nvidia_gpu(proc, which=lambda _name: None)
    assert torch_env.cuda_build_for(570) == "cu128"
    assert torch_env.cuda_build_for(580) == "cu130"
    assert torch_env.cuda_build_for(565) == "cu126"
    assert torch_env.cuda_build_for(None) == torch_env.DEFAULT_BUILD


def test_the_install_command_pins_the_bundled_version_from_the_cuda_index(tmp_path: Path):
    cmd = torch_env.install_command(["Storyloom", "--storyloom-pip"], tmp_path, "2.13.0", "cu128")
    assert cmd[:3] == ["Storyloom", "--storyloom-pip", "install"]
    assert cmd[-1] == "torch==2.13.0"
    assert cmd[cmd.index("--target") + 1] == str(tmp_path)
    assert cmd[cmd.index("--index-url") + 1] == "https://download.pytorch.org/whl/cu128"
    assert launch.pip_command() == [sys.executable, "-m", "pip"]  # not frozen here


def test_a_finished_install_is_pinned_and_reaches_the_engine_environment(tmp_path: Path):
    with pytest.raises(FileNotFoundError):  # pip left nothing: no pin
        torch_env.finish_install("2.13.0", "cu128", tmp_path)
    assert torch_env.pinned_torch_dir(tmp_path, CPU) is None
    (torch_env.staging_dir(tmp_path) / "torch").mkdir(parents=True)
    folder = torch_env.finish_install("2.13.0", "cu128", tmp_path)
    assert folder == tmp_path / "torch-cuda" and not torch_env.staging_dir(tmp_path).exists()
    pin = json.loads((tmp_path / "torch-cuda.json").read_text())
    assert pin == {"torch": "2.13.0", "build": "cu128", "path": "torch-cuda"}
    assert torch_env.pinned_torch_dir(tmp_path, CPU) == folder
    # the bundle moved on to another torch: the old CUDA build is not used
    assert torch_env.pinned_torch_dir(tmp_path, TorchBuild("2.14.0", None)) is None
    env = launch.engine_env({"PYTHONPATH": "/x"}, folder)
    assert env[launch.TORCH_PATH_ENV] == str(folder)
    assert env["PYTHONPATH"] == os.pathsep.join([str(folder), "/x"])
    assert launch.engine_env({"A": "1"}, None) == {"A": "1"}
