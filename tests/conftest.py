"""Every test (and every process it starts) logs into a throwaway folder, never the user's, and
reads prompts with the installed prompt encoder, whatever the developer's shell names."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_log_folder(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    # A packed, cut-down encoder (a training aid, `python -m engine text-pack`) refuses words
    # outside the story world, which the app's tests use; a test that wants one sets it itself.
    mp.delenv("STORYLOOM_TEXT_ENCODER_DIR", raising=False)
    yield
    mp.undo()
