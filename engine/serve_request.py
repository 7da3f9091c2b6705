"""Reading POST /v1/generations: body limits, JSON or multipart, media decoding, defaults.

JSON carries images as base64; multipart/form-data carries the same fields as form fields (or
one `request` field holding the JSON) and images as file parts named image, references, previous.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from engine.request import GenerationRequest
from engine.serve_media import MediaError, b64decode, decode_image, decode_previous
from engine.serve_schema import MAX_REFERENCES, GenerationIn

MEDIA_FIELDS = ("image", "references", "previous")


class RequestProblem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def one_line(e: ValidationError | RequestValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "__root__"))
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(parts) or "invalid request"


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestProblem(413, f"request body is larger than {limit // 2**20} MiB")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise RequestProblem(413, f"request body is larger than {limit // 2**20} MiB")
    return bytes(buf)


async def parse_multipart(
    request: Request, body: bytes
) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=32, max_fields=64, max_part_size=len(body) + 1
        )
    except Exception as e:  # noqa: BLE001 - malformed multipart is the client's problem
        raise RequestProblem(400, f"malformed multipart body: {e}") from None
    fields: dict[str, Any] = {}
    media: dict[str, list[bytes]] = {k: [] for k in MEDIA_FIELDS}
    if "request" in form:
        fields = json_object(str(form["request"]).encode())
    for key, value in form.multi_items():
        if key in MEDIA_FIELDS:
            data = await value.read() if hasattr(value, "read") else b64decode(str(value), key)
            media[key].append(data)
        elif key != "request":
            fields[key] = value
    return fields, media


def json_object(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestProblem(400, f"the body is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise RequestProblem(400, "the body must be a JSON object")
    return obj


def to_request(
    spec: GenerationIn, media: dict[str, list[bytes]], native: tuple[int, int]
) -> GenerationRequest:
    """Decode the media (in a worker thread: this can take a moment) and fill the defaults."""
    if spec.image is not None:
        media["image"].insert(0, b64decode(spec.image, "image"))
    media["references"] = [
        b64decode(r, f"references[{i}]") for i, r in enumerate(spec.references)
    ] + media["references"]
    if isinstance(spec.previous, str):
        media["previous"].insert(0, b64decode(spec.previous, "previous"))
    elif spec.previous:
        media["previous"] = [
            b64decode(p, f"previous[{i}]") for i, p in enumerate(spec.previous)
        ] + media["previous"]
    if len(media["image"]) > 1:
        raise MediaError("give one start image")
    if len(media["references"]) > MAX_REFERENCES:
        raise MediaError(f"at most {MAX_REFERENCES} reference images")
    return GenerationRequest(
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        width=spec.width or native[0],
        height=spec.height or native[1],
        frames=spec.frames,
        seconds=spec.seconds if spec.seconds is not None else 2.0,
        fps=spec.fps,
        steps=spec.steps,
        sampler=spec.sampler,
        guidance=spec.guidance,
        context_guidance=spec.context_guidance,
        guidance_min_sigma=spec.guidance_min_sigma,
        seed=spec.seed,
        carry_over_strength=spec.carry_over_strength,
        preview_every=spec.preview_every,
        image=decode_image(media["image"][0], "image") if media["image"] else None,
        references=[decode_image(r, f"reference {i}") for i, r in enumerate(media["references"])],
        previous=decode_previous(media["previous"]) if media["previous"] else None,
    )
