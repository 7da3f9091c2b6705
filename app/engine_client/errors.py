"""Errors a user can meet while talking to the engine (one line each)."""

from __future__ import annotations

from app.project.errors import StoryloomError


class EngineClientError(StoryloomError):
    """The engine refused a request or answered something unexpected."""


class EngineUnavailable(EngineClientError):
    """The engine is not answering: not started, crashed, or the connection dropped."""


class EngineAuthError(EngineClientError):
    """The engine refused the token."""


class EngineStartError(EngineUnavailable):
    """A local engine process could not be started (or could not load its model)."""
