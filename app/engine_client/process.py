"""Where the engine runs: a local process this app supervises, or a remote service.

`LocalEngine` starts `python -m engine serve` (in a frozen bundle: the program itself with a hidden
flag, see `launch.py`) on a free loopback port with a random token (given
through the environment, so it never shows in the process list), waits until the model is loaded,
starts it again when it has died, and stops it on close. `RemoteEngine` is a URL and a token.
Both hand out an `EngineClient` from `ensure()`.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

import httpx

from . import torch_env
from .client import EngineClient
from .errors import EngineStartError, EngineUnavailable
from .launch import engine_command, engine_env

logger = logging.getLogger("storyloom.engine")
KEEP_LINES = 200  # of the engine's output, copied into the application log when it stops

TOKEN_ENV = "STORYLOOM_ENGINE_TOKEN"
PARENT_ENV = "STORYLOOM_ENGINE_PARENT_PID"  # the engine exits when this process is gone


class EngineHandle(Protocol):
    def ensure(self) -> EngineClient:
        """A client for a running engine (starting or restarting a local one)."""
        ...

    def died(self, wait: float = 0.0) -> str | None:
        """Why the engine is gone ('killed by SIGKILL'), or None while it runs. `wait`: give a
        process whose connection just dropped that long to be seen as exited."""
        ...

    def close(self) -> None: ...


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class _PortTaken(EngineStartError):
    """The free port we picked was taken before the engine bound it: try another."""


class LocalEngine:
    def __init__(
        self,
        model: str | Path | None = None,
        device: str = "auto",
        start_timeout: float = 180.0,
        python: str | None = None,  # None: this interpreter, or the frozen program
        log_dir: Path | None = None,
    ) -> None:
        self.model, self.device = model, device
        self.start_timeout, self.python, self.log_dir = start_timeout, python, log_dir
        self.url, self.token = "", ""
        self.starts = 0  # how many processes were started (restarts included)
        self._proc: subprocess.Popen | None = None
        self._client: EngineClient | None = None
        self._log: Path | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def died(self, wait: float = 0.0) -> str | None:
        if self._proc is None:
            return None
        if wait > 0:
            try:
                self._proc.wait(wait)
            except subprocess.TimeoutExpired:
                return None
        if self._proc.poll() is None:
            return None
        code = self._proc.returncode
        tail = self._log_tail() if code >= 0 else ""  # a killed process left no last word
        return f"the engine process {describe_exit(code)}{tail}"

    def ensure(self) -> EngineClient:
        if self._proc is not None and self._proc.poll() is None and self._client is not None:
            return self._client
        self._reset()
        last: EngineStartError | None = None
        for _ in range(3):  # another program may take the free port before the engine binds it
            try:
                return self._start()
            except _PortTaken as e:
                last = e
        assert last is not None
        raise last

    def _start(self) -> EngineClient:
        port, token = free_port(), secrets.token_hex(24)  # hex: never starts with "-"
        cmd = engine_command(self.python)
        cmd += ["serve", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--device", self.device]
        if self.model is not None:
            cmd += ["--model", str(self.model)]
        fd, log = tempfile.mkstemp(prefix="storyloom-engine-", suffix=".log", dir=self.log_dir)
        self._log = Path(log)
        torch_dir = torch_env.pinned_torch_dir()  # a CUDA torch the user installed, if any
        env = engine_env(dict(os.environ), torch_dir)
        env.update({TOKEN_ENV: token, PARENT_ENV: str(os.getpid())})
        logger.info("starting the engine: %s (torch from %s)", cmd, torch_dir or "the install")
        with os.fdopen(fd, "wb") as out:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
            )
        self.starts += 1
        self.url, self.token = f"http://127.0.0.1:{port}", token
        client = EngineClient(self.url, token)
        try:
            self._wait_ready(client)
        except BaseException:
            client.close()
            self._reset()
            raise
        self._client = client
        return client

    def _wait_ready(self, client: EngineClient) -> None:
        """Until the model is loaded; a process that exits or a model that fails is an error."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            why = self.died()
            if why:
                taken = "address already in use" in self._log_text().lower()
                raise (_PortTaken if taken else EngineStartError)(
                    f"the engine did not start: {why}"
                )
            try:
                h = client.health()
            except EngineUnavailable:
                h = None
            if h and h.get("model_loaded"):
                return
            if h and h.get("load_error"):
                raise EngineStartError(f"the engine could not load its model: {h['load_error']}")
            time.sleep(0.1)
        raise EngineStartError(f"the engine did not become ready within {self.start_timeout:g} s")

    def _log_text(self) -> str:
        try:
            return self._log.read_text(errors="replace") if self._log is not None else ""
        except OSError:
            return ""

    def _log_tail(self) -> str:
        lines = [ln for ln in self._log_text().splitlines() if ln.strip()]
        useful = [ln for ln in lines if not ln.startswith(("token:", "Storyloom engine on"))]
        return f": {useful[-1].strip()}" if useful else ""

    def _keep_output(self, why: str | None) -> None:
        """Copy the engine's own output (its last lines, the token line left out) into the
        application log before its temporary file goes, so "Collect diagnostics" has it."""
        lines = [
            ln for ln in self._log_text().splitlines() if ln.strip() and not ln.startswith("token:")
        ][-KEEP_LINES:]
        if lines:
            logger.log(
                logging.WARNING if why else logging.INFO,
                "%s; its output:\n%s",
                why or "the engine process was stopped",
                "\n".join(lines),
            )

    def _reset(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._proc is not None:
            if self._proc.poll() is not None:  # it ended on its own: record why
                self._keep_output(self.died())
            else:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(5)
                self._keep_output(None)
            self._proc = None
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def close(self) -> None:
        self._reset()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RemoteEngine:
    """An engine someone else runs (`python -m engine serve --host ... --token ...`)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self._client = url, EngineClient(url, token)

    def ensure(self) -> EngineClient:
        h = self._client.health()
        if not h.get("model_loaded"):
            why = h.get("load_error") or "it is still loading its model"
            raise EngineUnavailable(f"the engine at {self.url} is not ready: {why}")
        self._client.models()  # checks the token now rather than at the first job
        return self._client

    def died(self, wait: float = 0.0) -> str | None:
        try:
            self._client.health()
        except EngineUnavailable as e:
            return str(e)
        except httpx.HTTPError as e:  # pragma: no cover - defensive
            return str(e)
        return None

    def close(self) -> None:
        self._client.close()
