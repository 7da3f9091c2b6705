"""Talking to the engine process: starting and supervising it, its HTTP API, generating takes.

No torch and no `engine` imports here (import-linter checks it): the engine is another process.

    with LocalEngine(model=None, device="auto") as engine:      # or RemoteEngine(url, token)
        client = engine.ensure()                                 # starts it, waits for the model
        gid = client.submit({"prompt": "a red ball", "frames": 5})
        final = client.wait(gid, on_event=print)
        mp4 = client.download(gid)

    GenerationRunner(project, engine, on_progress=...).render()  # a storyboard, as takes
"""

from .client import EngineClient, EngineEvent
from .errors import EngineAuthError, EngineClientError, EngineStartError, EngineUnavailable
from .process import EngineHandle, LocalEngine, RemoteEngine
from .runner import GenerationRunner, Progress, SceneResult

__all__ = [
    "EngineAuthError",
    "EngineClient",
    "EngineClientError",
    "EngineEvent",
    "EngineHandle",
    "EngineStartError",
    "EngineUnavailable",
    "GenerationRunner",
    "LocalEngine",
    "Progress",
    "RemoteEngine",
    "SceneResult",
]
