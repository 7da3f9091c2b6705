"""A typed client for the engine's HTTP API (`python -m engine serve`); httpx only, no torch."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .errors import EngineAuthError, EngineClientError, EngineUnavailable

FINISHED = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class EngineEvent:
    """One server-sent event: `status`, `step`, or a final `done` / `failed` / `cancelled`."""

    id: int
    kind: str
    data: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.kind in FINISHED


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class EngineClient:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.TransportError as e:
            raise EngineUnavailable(f"the engine at {self.url} is not answering ({_why(e)})") from e
        _raise_for(r)
        return r

    # ------------------------------------------------------------------ the API
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/v1/health").json()

    def models(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/models").json()["models"]

    def submit(self, request: dict[str, Any], files: dict[str, list[bytes]] | None = None) -> str:
        """Queue a generation. `request` uses the engine CLI's field names (images as base64);
        `files` sends images/videos as multipart parts instead (image, references, previous)."""
        if files:
            parts = [
                (k, (f"{k}{i}", data)) for k, items in files.items() for i, data in enumerate(items)
            ]
            r = self._call(
                "POST", "/v1/generations", data={"request": json.dumps(request)}, files=parts
            )
        else:
            r = self._call("POST", "/v1/generations", json=request)
        return str(r.json()["id"])

    def status(self, gen_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/generations/{gen_id}").json()

    def list(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/generations").json()["generations"]

    def cancel(self, gen_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/v1/generations/{gen_id}").json()

    def download(self, gen_id: str) -> bytes:
        return self._call("GET", f"/v1/generations/{gen_id}/video").content

    def download_to(self, gen_id: str, path: Path) -> Path:
        path.write_bytes(self.download(gen_id))
        return path

    def recipe(self, gen_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/generations/{gen_id}/recipe").json()

    def events(self, gen_id: str, after: int = 0) -> Iterator[EngineEvent]:
        """Follow a generation's events until its final one (replayed from after `after`)."""
        headers = {"Last-Event-ID": str(after)} if after else {}
        timeout = httpx.Timeout(30.0, connect=5.0)  # the server sends a keep-alive every 5 s
        try:
            with self._http.stream(
                "GET", f"/v1/generations/{gen_id}/events", headers=headers, timeout=timeout
            ) as r:
                if r.status_code >= 400:
                    r.read()
                    _raise_for(r)
                for ev in _parse_sse(r.iter_lines()):
                    yield ev
                    if ev.final:
                        return
        except httpx.TransportError as e:
            raise EngineUnavailable(f"lost the engine at {self.url} ({_why(e)})") from e
        raise EngineUnavailable(f"the engine at {self.url} closed the event stream early")

    def wait(
        self, gen_id: str, on_event: Callable[[EngineEvent], object] | None = None
    ) -> dict[str, Any]:
        """Follow events to the end (`on_event` sees each one) and return the final state."""
        for ev in self.events(gen_id):
            if on_event is not None:
                on_event(ev)
            if ev.final:
                return ev.data
        raise EngineUnavailable(f"the engine at {self.url} closed the event stream early")


def _parse_sse(lines: Iterator[str]) -> Iterator[EngineEvent]:
    eid, kind, data = 0, "message", []
    for line in lines:
        if not line:
            if data:
                yield EngineEvent(eid, kind, json.loads("\n".join(data)))
            kind, data = "message", []
        elif line.startswith(":"):
            continue  # keep-alive comment
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id" and value.isdigit():
                eid = int(value)
            elif name == "event":
                kind = value
            elif name == "data":
                data.append(value)


def _raise_for(r: httpx.Response) -> None:
    if r.status_code < 400:
        return
    try:
        detail = r.json().get("detail", r.text)
    except (ValueError, AttributeError):
        detail = r.text
    if r.status_code == 401:
        raise EngineAuthError("the engine refused the token (check the engine URL and token)")
    raise EngineClientError(f"the engine answered {r.status_code}: {detail}")


def _why(e: Exception) -> str:
    return str(e) or type(e).__name__
