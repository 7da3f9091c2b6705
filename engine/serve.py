"""`python -m engine serve`: the engine as an HTTP service (see engine/serve_app.py for the API).

Binds to loopback by default. Every endpoint but /v1/health needs the bearer token: from
--token, else from $STORYLOOM_ENGINE_TOKEN (how the editor passes it, so it never shows in the
process list), else a random one that is printed. A non-loopback address needs an explicit token.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from engine.request import EngineError

TOKEN_ENV = "STORYLOOM_ENGINE_TOKEN"
PARENT_ENV = "STORYLOOM_ENGINE_PARENT_PID"  # set by the editor: exit when it is gone
DEVICES = ("auto", "cpu", "cuda", "mps")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def resolve_token(host: str, given: str | None) -> tuple[str, bool]:
    """-> (token, generated). Refuses a non-loopback host without an explicit token."""
    token = given or os.environ.get(TOKEN_ENV) or ""
    if token:
        if len(token) < 8:
            raise EngineError("the token must have at least 8 characters")
        return token, False
    if not is_loopback(host):
        raise EngineError(
            f"refusing to listen on {host} (not loopback) without an explicit --token"
        )
    # hex: never starts with "-", which a command line (storyloom generate --token T) reads as an option
    return secrets.token_hex(24), True


def watch_parent(pid: int, every: float = 2.0) -> None:
    """Exit when the process that started us is gone (an editor that crashed leaves no engine
    holding a GPU behind). Re-parenting changes getppid() on Linux and macOS."""

    def run() -> None:
        while os.getppid() == pid:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=run, name="parent-watch", daemon=True).start()


def main(args) -> int:
    token, generated = resolve_token(args.host, args.token)
    if not (1 <= args.port <= 65535):
        raise EngineError(f"port must be between 1 and 65535, got {args.port}")
    if args.device not in DEVICES and not args.device.startswith("cuda:"):
        raise EngineError(f"unknown device {args.device!r} (auto, cpu, cuda or mps)")
    if args.model and not Path(args.model).is_dir():
        raise EngineError(f"model folder not found: {args.model}")

    import uvicorn

    from engine.serve_app import create_app
    from engine.serve_jobs import GenerationService

    parent = os.environ.get(PARENT_ENV, "")
    if parent.isdigit() and int(parent) == os.getppid():
        watch_parent(int(parent))
    logging.basicConfig(level=logging.INFO, format="engine: %(message)s", stream=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="storyloom-engine-"))
    try:
        svc = GenerationService(args.model, args.device, workdir)
        app = create_app(svc, token)
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Storyloom engine on http://{host}:{args.port} (API docs at /docs)", flush=True)
        if generated:
            print(f"token: {token}", flush=True)
        # open event streams must not hold a shutdown up: give them 3 s
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=3,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
