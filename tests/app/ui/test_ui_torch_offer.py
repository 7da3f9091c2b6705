"""The CUDA torch offer dialog with a real QProcess: a command that leaves a torch package in
the staging folder is installed and pinned; a slow one is cancelled and leaves nothing; a
failing one says so; "Don't ask again" is remembered. (A real CUDA install cannot run here;
the command it would run is tested in tests/packaging/test_torch_env.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

from app.engine_client import torch_env
from app.engine_client.torch_env import TorchBuild
from app.ui.torch_offer import DECLINED_KEY, TorchOfferDialog, maybe_offer

FAKE_PIP = (
    "import os, sys, time; t = sys.argv[1]; print('Collecting torch==2.13.0', flush=True); "
    "time.sleep(float(sys.argv[2])); os.makedirs(os.path.join(t, 'torch')); "
    "open(os.path.join(t, 'torch', 'version.py'), 'w').write(\"cuda = '12.8'\"); "
    "print('Successfully installed torch-2.13.0+cu128', flush=True); sys.exit(int(sys.argv[3]))"
)


def dialog(qtbot, data: Path, seconds: float = 0.0, code: int = 0, prefs=None) -> TorchOfferDialog:  # type: ignore[no-untyped-def]
    cmd = [
        sys.executable,
        "-c",
        FAKE_PIP,
        str(torch_env.staging_dir(data)),
        str(seconds),
        str(code),
    ]
    d = TorchOfferDialog(cmd, "2.13.0", "cu128", data, prefs)
    qtbot.addWidget(d)
    d.show()
    return d


def test_install_runs_without_blocking_and_pins_the_build(qtbot, tmp_path: Path):
    d = dialog(qtbot, tmp_path, seconds=0.5)
    assert not d.isModal()
    with qtbot.waitSignal(d.sig_finished, timeout=20000) as done:
        d.install.click()
        assert d.cancel.isVisible() and d.bar.isVisible()  # start() returned at once
    assert done.args == [True]
    assert "Installed in" in d.status.text()
    assert (
        torch_env.pinned_torch_dir(tmp_path, TorchBuild("2.13.0", None)) == tmp_path / "torch-cuda"
    )


def test_cancel_kills_pip_and_leaves_nothing(qtbot, tmp_path: Path):
    d = dialog(qtbot, tmp_path, seconds=30)
    with qtbot.waitSignal(d.sig_finished, timeout=20000) as done:
        d.install.click()
        qtbot.waitUntil(lambda: "Collecting" in d.status.text(), timeout=10000)
        d.cancel.click()
    assert done.args == [False] and "Cancelled" in d.status.text()
    assert not torch_env.staging_dir(tmp_path).exists()
    assert not (tmp_path / torch_env.PIN_FILE).exists() and d.install.text() == "Try again"


def test_a_failing_pip_is_reported_and_not_pinned(qtbot, tmp_path: Path):
    d = dialog(qtbot, tmp_path, code=1)
    with qtbot.waitSignal(d.sig_finished, timeout=20000) as done:
        d.install.click()
    assert done.args == [False] and "pip failed (exit code 1)" in d.status.text()
    assert not (tmp_path / torch_env.PIN_FILE).exists()


def test_dont_ask_again_is_remembered_and_no_offer_from_a_source_install(qtbot, tmp_path, prefs):  # type: ignore[no-untyped-def]
    d = dialog(qtbot, tmp_path, prefs=prefs)
    d.never.click()
    assert not d.isVisible()
    assert str(prefs.q.value(DECLINED_KEY)).lower() == "true"
    assert maybe_offer(None, prefs) is None  # not frozen: a source install manages its torch
