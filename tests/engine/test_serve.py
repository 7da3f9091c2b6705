"""The engine's HTTP service as a real process on loopback with the tiny model: auth, the whole
generation API (events, previews, video, recipe), cancel, the queue, bad input, out of memory."""

from __future__ import annotations

import base64
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import httpx
import numpy as np
import pytest

from engine.cli import main as engine_main
from engine.serve import is_loopback, resolve_token

TOKEN = "test-token-0123456789"
SMALL = {
    "prompt": "a red ball moves to the left",
    "width": 64,
    "height": 48,
    "frames": 5,
    "steps": 3,
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(img: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def events(client: httpx.Client, gid: str, after: int = 0) -> list[tuple[int, str, dict]]:
    out, eid, kind = [], 0, ""
    headers = {"Last-Event-ID": str(after)} if after else {}
    with client.stream("GET", f"/v1/generations/{gid}/events", headers=headers, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                eid = int(line[4:])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((eid, kind, json.loads(line[6:])))
    return out


def wait_done(client: httpx.Client, gid: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = client.get(f"/v1/generations/{gid}").json()
        if s["status"] in ("done", "failed", "cancelled"):
            return s
        time.sleep(0.05)
    raise AssertionError(f"generation {gid} did not finish")


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    port = free_port()
    env = dict(os.environ, STORYLOOM_ENGINE_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine",
            "serve",
            "--port",
            str(port),
            "--model",
            str(tiny_model_dir),
            "--device",
            "cpu",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 120
    while time.monotonic() < end:
        assert proc.poll() is None, proc.stdout.read().decode()
        try:
            if httpx.get(f"{url}/v1/health").json()["model_loaded"]:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    yield proc, url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def api(server):
    proc, url = server
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        yield c
    assert proc.poll() is None, "the service must outlive every test"
    assert httpx.get(f"{url}/v1/health").json()["model_loaded"]


# ------------------------------------------------------------------------------ access rules
def test_every_endpoint_but_health_needs_the_token(server, api):
    _, url = server
    h = httpx.get(f"{url}/v1/health")
    assert h.status_code == 200
    body = h.json()
    assert (
        body["model_loaded"] and body["device"] == "cpu" and body["memory"]["process_rss_bytes"] > 0
    )
    gid = api.post("/v1/generations", json=dict(SMALL, steps=1, frames=1)).json()["id"]
    wait_done(api, gid)
    paths = [
        ("GET", "/v1/models"),
        ("GET", "/v1/generations"),
        ("POST", "/v1/generations"),
        ("GET", f"/v1/generations/{gid}"),
        ("GET", f"/v1/generations/{gid}/events"),
        ("GET", f"/v1/generations/{gid}/video"),
        ("GET", f"/v1/generations/{gid}/recipe"),
        ("DELETE", f"/v1/generations/{gid}"),
    ]
    for headers in ({}, {"Authorization": "Bearer wrong-token-xxxxxxxx"}, {"Authorization": TOKEN}):
        for method, path in paths:
            r = httpx.request(method, url + path, headers=headers, json=SMALL)
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
    assert api.get("/v1/models").json()["models"][0]["multiple"] == 16
    assert "/v1/generations" in httpx.get(f"{url}/openapi.json").json()["paths"]


def test_token_rules_loopback_only_without_a_token(monkeypatch, capsys):
    monkeypatch.delenv("STORYLOOM_ENGINE_TOKEN", raising=False)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert (
        not is_loopback("0.0.0.0")
        and not is_loopback("192.168.1.5")
        and not is_loopback("example.org")
    )
    token, generated = resolve_token("127.0.0.1", None)
    assert generated and len(token) >= 24 and token != resolve_token("127.0.0.1", None)[0]
    # a generated token is pasted into `storyloom generate --token T`; one starting with "-" reads as an option
    assert not any(resolve_token("127.0.0.1", None)[0].startswith("-") for _ in range(300))
    assert resolve_token("0.0.0.0", "a-long-enough-token") == ("a-long-enough-token", False)
    assert engine_main(["serve", "--host", "0.0.0.0", "--port", "9"]) == 2
    assert "without an explicit --token" in capsys.readouterr().err
    monkeypatch.setenv("STORYLOOM_ENGINE_TOKEN", "from-the-environment")
    assert resolve_token("0.0.0.0", None) == ("from-the-environment", False)


# ------------------------------------------------------------------------------ generation
def test_submit_streams_each_step_with_previews_then_the_video_decodes(api):
    body = dict(SMALL, seed=7, preview_every=1, guidance_min_sigma=0.5)
    r = api.post("/v1/generations", json=body)
    assert r.status_code == 201
    gid = r.json()["id"]
    evs = events(api, gid)
    kinds = [k for _, k, _ in evs]
    assert kinds == ["status", "status", "step", "step", "step", "done"], kinds
    assert [d["status"] for _, k, d in evs if k == "status"] == ["queued", "running"]
    steps = [d for _, k, d in evs if k == "step"]
    assert [s["step"] for s in steps] == [1, 2, 3] and steps[-1]["progress"] == 1.0
    assert steps[0]["eta_s"] is not None and steps[0]["eta_s"] >= 0
    preview = cv2.imdecode(
        np.frombuffer(base64.b64decode(steps[0]["preview"]), np.uint8), cv2.IMREAD_COLOR
    )
    assert preview is not None and max(preview.shape[:2]) <= 256
    assert [i for i, _, _ in evs] == sorted(i for i, _, _ in evs)
    # a client that reconnects with Last-Event-ID gets only what it missed
    assert [k for _, k, _ in events(api, gid, after=evs[3][0])] == ["step", "done"]

    status = api.get(f"/v1/generations/{gid}").json()
    assert status["status"] == "done" and status["progress"] == 1.0 and status["error"] == ""
    video = api.get(f"/v1/generations/{gid}/video")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content)) as box:
        frames = [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    recipe = api.get(f"/v1/generations/{gid}/recipe").json()
    assert recipe["seed"] == 7 and recipe["steps"] == 3 and recipe["frames"] == 5
    assert recipe["prompt"] == SMALL["prompt"] and recipe["job"] == gid
    assert recipe["guidance_min_sigma"] == 0.5  # the sampling setting reached the engine
    assert status["recipe"] == recipe


def test_start_image_references_and_previous_as_video_or_frames(api):
    img = np.zeros((48, 64, 3), np.uint8)
    img[:, :32] = (255, 0, 0)
    first = api.post("/v1/generations", json=dict(SMALL, image=png(img), references=[png(img)]))
    gid = first.json()["id"]
    assert wait_done(api, gid)["status"] == "done"
    assert api.get(f"/v1/generations/{gid}/recipe").json()["start_image"] is True
    mp4 = base64.b64encode(api.get(f"/v1/generations/{gid}/video").content).decode()
    # previous as one base64 MP4, then as a list of PNG frames (a `data:` URL is fine too)
    for previous in (mp4, [f"data:image/png;base64,{png(img)}"] * 3):
        g2 = api.post("/v1/generations", json=dict(SMALL, previous=previous)).json()["id"]
        s = wait_done(api, g2)
        assert s["status"] == "done", s["error"]
        assert s["recipe"]["previous"] is True


def test_multipart_upload_with_image_files(api):
    img = np.full((48, 64, 3), 200, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    r = api.post(
        "/v1/generations",
        data={"request": json.dumps(SMALL), "seed": "5"},
        files=[("image", ("start.jpg", buf.tobytes(), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    s = wait_done(api, r.json()["id"])
    assert s["status"] == "done" and s["recipe"]["start_image"] and s["recipe"]["seed"] == 5


def test_multipart_media_sent_as_text_fields_must_be_base64(api):
    # found by schemathesis' stateful phase: a text field `references` = "{}" gave a 500
    for name in ("references", "image", "previous"):
        r = api.post(
            "/v1/generations", data={"request": json.dumps(SMALL), name: "{}"}, files={"x": b""}
        )
        assert r.status_code == 400, r.text
        assert r.json()["detail"] == f"{name} is not valid base64"


def test_cancel_stops_a_running_generation_within_one_step(api):
    gid = api.post("/v1/generations", json=dict(SMALL, steps=400)).json()["id"]
    seen: list[tuple[float, int]] = []
    with api.stream("GET", f"/v1/generations/{gid}/events") as r:
        kind = ""
        for line in r.iter_lines():
            kind = line[7:] if line.startswith("event: ") else kind
            if kind == "step" and line.startswith("data: "):
                seen.append((time.monotonic(), json.loads(line[6:])["step"]))
            if len(seen) == 3:
                break
    step_s = max(1e-3, (seen[-1][0] - seen[0][0]) / 2)
    t0 = time.monotonic()
    d = api.delete(f"/v1/generations/{gid}").json()
    assert d["cancel_requested"] is True
    s = wait_done(api, gid)
    took = time.monotonic() - t0
    assert s["status"] == "cancelled" and s["step"] < 400
    assert took < 3 * step_s + 0.5, (took, step_s)
    assert api.get(f"/v1/generations/{gid}/video").status_code == 409
    assert api.delete(f"/v1/generations/{gid}").json()["status"] == "cancelled"


def test_twenty_queued_jobs_complete_in_order_while_some_are_cancelled(api):
    # the first job is long, so the others are surely still queued when the cancels arrive
    # (on an idle machine one-step jobs finished before their DELETE)
    ids = [
        api.post(
            "/v1/generations", json=dict(SMALL, frames=1, steps=300 if i == 0 else 1, seed=i)
        ).json()["id"]
        for i in range(20)
    ]
    cancel = set(ids[2::4])
    for gid in cancel:
        assert api.delete(f"/v1/generations/{gid}").json()["status"] == "cancelled"
    final = [wait_done(api, gid) for gid in ids]
    for gid, s in zip(ids, final, strict=True):
        assert s["status"] == ("cancelled" if gid in cancel else "done"), s
        assert (s["started_at"] is None) == (gid in cancel)
    starts = [s["started_at"] for s in final if s["status"] == "done"]
    assert starts == sorted(starts) and len(starts) == 15
    assert [s["recipe"]["seed"] for s in final if s["status"] == "done"] == [
        i for i, g in enumerate(ids) if g not in cancel
    ]
    assert api.delete(f"/v1/generations/{ids[0]}").status_code == 409  # already done


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "body,status,words",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({"width": 64}).encode(), 422, "prompt"),
        (json.dumps(dict(SMALL, colour="red")).encode(), 422, "colour"),
        (json.dumps(dict(SMALL, width=100_000)).encode(), 422, "width"),
        (json.dumps(dict(SMALL, width=8192, height=8192)).encode(), 422, "4096x4096"),
        (json.dumps(dict(SMALL, width=70)).encode(), 422, "multiple of 16"),
        (json.dumps(dict(SMALL, frames=5, seconds=2)).encode(), 422, "not both"),
        (json.dumps(dict(SMALL, steps=0)).encode(), 422, "steps"),
        (json.dumps(dict(SMALL, guidance_min_sigma=2)).encode(), 422, "guidance_min_sigma"),
        (json.dumps(dict(SMALL, image="%%%")).encode(), 400, "not valid base64"),
        (
            json.dumps(dict(SMALL, image=base64.b64encode(b"hello").decode())).encode(),
            400,
            "not a PNG or JPEG",
        ),
        (
            json.dumps(dict(SMALL, previous=base64.b64encode(b"\x00" * 100).decode())).encode(),
            400,
            "previous",
        ),
    ],
)
def test_bad_requests_get_a_clear_4xx(api, body, status, words):
    r = api.post("/v1/generations", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_undecodable_and_oversized_images_and_bodies(api):
    good = base64.b64decode(png(np.zeros((48, 64, 3), np.uint8)))
    truncated = base64.b64encode(good[:40]).decode()
    r = api.post("/v1/generations", json=dict(SMALL, image=truncated))
    assert r.status_code == 400 and "cannot be decoded" in r.json()["detail"]
    huge = bytearray(good)
    huge[16:24] = (100_000).to_bytes(4, "big") * 2  # the header claims 100000x100000
    r = api.post(
        "/v1/generations", json=dict(SMALL, references=[base64.b64encode(bytes(huge)).decode()])
    )
    assert r.status_code == 400 and "at most 4096x4096" in r.json()["detail"]
    r = api.post(
        "/v1/generations",
        content=b"x" * (64 * 2**20 + 1),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert api.get("/v1/generations/nope").status_code == 404
    assert api.delete("/v1/generations/nope").status_code == 404


def test_wrong_types_for_every_field_never_give_a_5xx(api):
    schema = api.get("/openapi.json").json()
    fields = schema["paths"]["/v1/generations"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["properties"]
    for name in fields:
        for bad in (None, -1, 1e308, "x" * 5000, [1], {"a": 1}, True):
            r = api.post("/v1/generations", json=dict(SMALL, **{name: bad}))
            assert r.status_code < 500, (name, bad, r.text)
            if r.status_code == 201:
                api.delete(f"/v1/generations/{r.json()['id']}")


def test_schemathesis_fuzzing_from_the_openapi_schema_finds_no_5xx(server, api):
    """Every operation in the service's own OpenAPI document, generated by schemathesis
    (coverage, fuzzing and stateful phases, deterministic), against the real server."""
    st = Path(sys.executable).with_name("st")
    _, url = server
    r = subprocess.run(
        [
            str(st),
            "run",
            f"{url}/openapi.json",
            "-H",
            f"Authorization: Bearer {TOKEN}",
            "-c",
            "not_a_server_error",
            "-n",
            "10",
            "--generation-deterministic",
            "--request-timeout",
            "60",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert r.returncode == 0, r.stdout[-3000:]
    assert "No issues found" in r.stdout and "passed" in r.stdout
    assert api.get("/v1/health").status_code == 200  # still serving afterwards


# ------------------------------------------------------------------------------ out of memory
def _vm_size(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        line = next(ln for ln in f if ln.startswith("VmSize:"))
    return int(line.split()[1]) * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses prlimit on the server")
def test_out_of_memory_fails_only_that_job_and_the_service_keeps_serving(server, api):
    proc, _ = server
    # A real allocation failure: cap the server's address space a little above what it uses now,
    # then carry over from a 4096x4096 frame: the engine's float copy of 9 such frames is 1.8 GB.
    frame = png(np.zeros((4096, 4096, 3), np.uint8))
    soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_AS)
    resource.prlimit(proc.pid, resource.RLIMIT_AS, (_vm_size(proc.pid) + 1280 * 2**20, hard))
    try:
        r = api.post(
            "/v1/generations",
            json={
                "prompt": "too big",
                "width": 4096,
                "height": 4096,
                "frames": 1,
                "steps": 1,
                "previous": [frame],
            },
        )
        assert r.status_code == 201, r.text
        s = wait_done(api, r.json()["id"], timeout=60)
    finally:
        resource.prlimit(proc.pid, resource.RLIMIT_AS, (soft, hard))
    assert s["status"] == "failed"
    assert s["error"].startswith("out of memory on cpu") and "smaller size" in s["error"], s[
        "error"
    ]
    after = api.post("/v1/generations", json=SMALL).json()["id"]
    assert wait_done(api, after)["status"] == "done"
