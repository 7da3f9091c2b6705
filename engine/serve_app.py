"""The FastAPI application: routes, bearer-token auth, health (requests are read in serve_request).

Every route but /v1/health needs `Authorization: Bearer <token>` (the documentation at /docs and
/openapi.json is public: it holds no data). POST /v1/generations takes JSON (images as base64) or
multipart/form-data (the same fields as form fields or a `request` JSON field, images as files).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from engine.request import EngineError, GenerationRequest
from engine.serve_jobs import GenerationService, QueueFull
from engine.serve_media import MediaError
from engine.serve_request import (
    MEDIA_FIELDS,
    RequestProblem,
    json_object,
    one_line,
    parse_multipart,
    read_body,
    to_request,
)
from engine.serve_schema import (
    ErrorOut,
    GenerationCreated,
    GenerationIn,
    GenerationList,
    GenerationOut,
    HealthOut,
    MemoryOut,
    ModelList,
    ModelOut,
)

MAX_BODY = 64 * 1024 * 1024
EVENTS_DOC = (
    "Server-sent events, replayed from the start (or after `Last-Event-ID`): `status` (queued, "
    "running), `step` (step, steps, chunk, chunks, progress, eta_s, elapsed_s and, when "
    "`preview_every` was set, `preview`: a base64 PNG at most 256 px wide), then one of `done`, "
    "`failed`, `cancelled` carrying the generation's state; the stream then ends."
)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing or wrong bearer token"},
    404: {"model": ErrorOut, "description": "no such generation"},
}


def _check_size(svc: GenerationService, req: GenerationRequest) -> None:
    eng = svc.engine
    if eng is None:
        return  # still loading: the worker's own check fails the job with the same words
    try:
        eng.check(req)  # every rule the engine applies, answered before the job is queued
    except EngineError as e:
        raise RequestProblem(422, str(e)) from None


def _memory(svc: GenerationService) -> MemoryOut:
    out = MemoryOut()
    try:
        with open("/proc/self/status") as f:
            rss = next((line for line in f if line.startswith("VmRSS:")), "")
        out.process_rss_bytes = int(rss.split()[1]) * 1024 if rss else None
        with open("/proc/meminfo") as f:
            avail = next((line for line in f if line.startswith("MemAvailable:")), "")
        out.system_available_bytes = int(avail.split()[1]) * 1024 if avail else None
    except OSError:
        pass  # not Linux: the device figures below still help
    eng = svc.engine
    if eng is not None and eng.device.type == "cuda":
        import torch

        free, total = torch.cuda.mem_get_info(eng.device)
        out.device_free_bytes, out.device_total_bytes = int(free), int(total)
        out.device_allocated_bytes = int(torch.cuda.memory_allocated(eng.device))
    return out


def create_app(svc: GenerationService, token: str, max_body: int = MAX_BODY) -> FastAPI:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        svc.start()
        yield
        await run_in_threadpool(svc.stop)

    app = FastAPI(
        title="Storyloom engine",
        version="1",
        lifespan=lifespan,
        description="Generate video clips and images from prompts, start images, element "
        "references and the previous scene. One generation runs at a time; others queue.",
    )
    bearer = HTTPBearer(
        auto_error=False, description="the token printed by `python -m engine serve`"
    )

    def require_token(cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if cred is None or not hmac.compare_digest(cred.credentials.encode(), token.encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    @app.exception_handler(RequestProblem)
    async def _problem(_r: Request, e: RequestProblem) -> JSONResponse:
        return JSONResponse({"detail": e.detail}, status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": one_line(e)}, status_code=422)

    api = APIRouter(
        prefix="/v1", dependencies=[Depends(require_token)], responses={401: ERRORS[401]}
    )

    def job_or_404(jid: str) -> dict[str, Any]:
        try:
            return svc.snapshot(jid)
        except KeyError:
            raise HTTPException(404, f"no generation {jid!r}") from None

    @api.post(
        "/generations",
        status_code=201,
        response_model=GenerationCreated,
        responses={
            400: {"model": ErrorOut},
            413: {"model": ErrorOut},
            422: {"model": ErrorOut},
            429: {"model": ErrorOut},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": GenerationIn.model_json_schema()},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "request": {
                                    "type": "string",
                                    "description": "GenerationIn as JSON (optional)",
                                },
                                "image": {"type": "string", "format": "binary"},
                                "references": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                },
                                "previous": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                },
                            },
                            "additionalProperties": True,
                        }
                    },
                },
            }
        },
    )
    async def create_generation(request: Request) -> GenerationCreated:
        """Queue a generation. Returns its id; follow it with GET …/{id} or …/{id}/events."""
        body = await read_body(request, max_body)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            try:  # media sent as text fields are base64, decoded here
                fields, media = await parse_multipart(request, body)
            except MediaError as e:
                raise RequestProblem(400, str(e)) from None
        else:
            fields, media = json_object(body), {k: [] for k in MEDIA_FIELDS}
        try:
            spec = GenerationIn.model_validate(fields)
        except ValidationError as e:
            raise RequestProblem(422, one_line(e)) from None
        eng = svc.engine
        native = (eng.native.width, eng.native.height) if eng is not None else (256, 144)
        try:
            req = await run_in_threadpool(to_request, spec, media, native)
        except MediaError as e:
            raise RequestProblem(400, str(e)) from None
        _check_size(svc, req)
        try:
            job = svc.submit(req)
        except QueueFull as e:
            raise RequestProblem(429, str(e)) from None
        snap = svc.snapshot(job.id)
        return GenerationCreated(
            id=job.id, status=snap["status"], queue_position=snap["queue_position"]
        )

    @api.get("/generations", response_model=GenerationList)
    def list_generations() -> GenerationList:
        """Queued, running and recent generations, oldest first."""
        return GenerationList(generations=[GenerationOut(**s) for s in svc.jobs()])

    @api.get("/generations/{gen_id}", response_model=GenerationOut, responses={404: ERRORS[404]})
    def get_generation(gen_id: str) -> GenerationOut:
        """Status, progress, step, ETA, error; the recipe once done."""
        return GenerationOut(**job_or_404(gen_id))

    @api.delete(
        "/generations/{gen_id}",
        response_model=GenerationOut,
        responses={404: ERRORS[404], 409: {"model": ErrorOut}},
    )
    def cancel_generation(gen_id: str) -> GenerationOut:
        """Cancel: a queued generation at once, a running one within one sampling step
        (`cancel_requested` is true until it stops)."""
        snap = job_or_404(gen_id)
        if snap["status"] in ("done", "failed"):
            raise HTTPException(
                409,
                f"generation {gen_id} has already {'finished' if snap['status'] == 'done' else 'failed'}",
            )
        return GenerationOut(**svc.cancel(gen_id))

    @api.get(
        "/generations/{gen_id}/events",
        responses={
            404: ERRORS[404],
            200: {
                "description": EVENTS_DOC,
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
        },
    )
    def generation_events(gen_id: str, request: Request) -> StreamingResponse:
        """Progress as server-sent events (see the 200 response)."""
        job_or_404(gen_id)
        last = request.headers.get("last-event-id", "0")
        after = int(last) if last.isdigit() else 0

        def stream():
            nonlocal after
            while True:
                try:
                    events, ended = svc.events_since(gen_id, after, timeout=5.0)
                except KeyError:
                    return
                for ev in events:
                    after = ev.id
                    yield f"id: {ev.id}\nevent: {ev.kind}\ndata: {json.dumps(ev.data)}\n\n"
                if ended and not events:
                    return
                if not events:
                    yield ": keep-alive\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @api.get(
        "/generations/{gen_id}/video",
        response_class=FileResponse,
        responses={
            404: ERRORS[404],
            409: {"model": ErrorOut},
            200: {
                "content": {"video/mp4": {}},
                "description": "H.264 MP4; the recipe is in its comment tag",
            },
        },
    )
    def generation_video(gen_id: str) -> FileResponse:
        """The generated clip as an MP4."""
        snap = job_or_404(gen_id)
        job = svc.get(gen_id)
        if snap["status"] != "done" or job.video is None or not job.video.exists():
            raise HTTPException(409, f"generation {gen_id} is {snap['status']}: no video")
        return FileResponse(job.video, media_type="video/mp4", filename=f"{gen_id}.mp4")

    @api.get("/generations/{gen_id}/recipe", responses={404: ERRORS[404], 409: {"model": ErrorOut}})
    def generation_recipe(gen_id: str) -> dict[str, Any]:
        """Model id and hash, prompt, seed, steps, guidance, size, frames, fps, context used."""
        snap = job_or_404(gen_id)
        if snap["status"] != "done":
            raise HTTPException(409, f"generation {gen_id} is {snap['status']}: no recipe")
        return snap["recipe"]

    @api.get("/models", response_model=ModelList)
    def models() -> ModelList:
        """The model this engine serves (one per process; it stays loaded)."""
        eng = svc.engine
        if eng is None:
            return ModelList(
                models=[
                    ModelOut(
                        id=svc.model_dir, loaded=False, loading=svc.loading, error=svc.load_error
                    )
                ]
            )
        return ModelList(
            models=[
                ModelOut(
                    id=eng.model_id,
                    hash=eng.model_hash,
                    loaded=True,
                    trained=eng.trained,
                    device=eng.device.type,
                    native_width=eng.native.width,
                    native_height=eng.native.height,
                    native_fps=eng.native.fps,
                    multiple=eng.multiple,
                    default_steps=int(eng.config.get("sampling", {}).get("steps", 20)),
                )
            ]
        )

    app.include_router(api)

    @app.get("/v1/health", response_model=HealthOut, tags=["health"])
    def health() -> HealthOut:
        """Liveness and what is loaded; needs no token."""
        queued, running = svc.counts()
        eng = svc.engine
        return HealthOut(
            model_loaded=eng is not None,
            loading=svc.loading,
            load_error=svc.load_error,
            model=eng.model_id if eng is not None else None,
            device=eng.device.type if eng is not None else svc.device_name,
            memory=_memory(svc),
            queued=queued,
            running=running,
        )

    return app
