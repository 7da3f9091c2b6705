"""The app's side of the engine: a real engine process (tiny random model) started, supervised,
killed in the middle of a job and restarted; a storyboard rendered into takes along the
carry-over chain; the `storyloom generate` command."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import av
import httpx
import pytest

from app.engine_client import EngineStartError, GenerationRunner, LocalEngine, RemoteEngine
from app.project import AddElement, AddScene, EditSettings, Project

FPS = 8.0  # 5 frames = 0.625 s
FAST = {"width": 64, "height": 48, "steps": 2, "fps": FPS}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A random test-size model made by the engine's own `init` (in a subprocess: no torch here)."""
    path = tmp_path_factory.mktemp("model") / "tiny"
    cmd = [sys.executable, "-m", "engine", "init", "--config", "test", "-o", str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    cfg = json.loads((path / "config.json").read_text())
    cfg["native"] = {"width": 64, "height": 48, "fps": FPS}
    cfg["sampling"]["steps"] = 2
    (path / "config.json").write_text(json.dumps(cfg))
    return path


@pytest.fixture(scope="module")
def engine(model_dir):
    with LocalEngine(model_dir, device="cpu") as e:
        yield e


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "film.storyloom", "Film", size=(640, 480), fps=FPS)
    p.execute(EditSettings(generation=dict(FAST)))
    yield p
    p.close()


def decode(mp4: bytes) -> list:
    with av.open(io.BytesIO(mp4)) as box:
        return [f.to_ndarray(format="rgb24") for f in box.decode(video=0)]


def test_local_engine_listens_on_loopback_with_a_token_and_generates(engine):
    client = engine.ensure()
    assert engine.url.startswith("http://127.0.0.1:")
    assert client.health()["model_loaded"] is True
    assert httpx.get(f"{engine.url}/v1/models").status_code == 401  # the token is required
    gid = client.submit(
        {"prompt": "a red ball", "width": 64, "height": 48, "frames": 5, "steps": 2}
    )
    seen = []
    final = client.wait(gid, on_event=seen.append)
    assert final["status"] == "done"
    assert [e.kind for e in seen] == ["status", "status", "step", "step", "done"]
    frames = decode(client.download(gid))
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    assert engine.ensure() is client and engine.starts == 1  # alive: not started again


def test_engine_killed_mid_job_fails_it_with_the_reason_and_the_next_job_restarts_it(
    engine, project
):
    sid = project.execute(AddScene(prompt="a fox runs", duration=0.625))
    project.execute(EditSettings(generation=dict(FAST, steps=400)))
    engine.ensure()
    starts = engine.starts

    def kill_once_running(p):
        if p.status == "running" and p.step >= 2 and engine.died() is None:
            os.kill(engine.pid, signal.SIGKILL)

    res = GenerationRunner(project, engine, on_progress=kill_once_running).generate(sid)
    assert res.status == "failed" and res.take_ids == []
    job = project.job(res.job_ids[0])
    assert job.status == "failed" and "killed by SIGKILL" in job.error, job.error
    assert job.started_at is not None and 0 < job.progress < 1

    project.execute(EditSettings(generation=dict(FAST)))
    again = GenerationRunner(project, engine).retry(job.id)  # the user retries the failed job
    assert again.status == "done", again.error
    assert engine.starts == starts + 1  # restarted once, by the retry
    scene = project.scene(sid)
    assert scene.chosen_take_id == again.take_ids[0]
    done = project.job(again.job_ids[0])
    assert done.status == "done" and done.progress == 1.0
    take = project.take(again.take_ids[0])
    assert take.job_id == done.id and take.recipe["prompt"] == "a fox runs"
    assert len(decode(b"".join(project.iter_asset(take.asset_id)))) == 5


def test_storyboard_follows_the_carry_over_chain_with_references_and_start_image(
    engine, project, media
):
    project.execute(AddElement(name="Mara", description="a girl", images=[media.png]))
    project.execute(EditSettings(style_prompt="watercolour"))
    s1 = project.execute(AddScene(prompt="@Mara walks in", duration=0.625, image=media.png2))
    s2 = project.execute(AddScene(prompt="@Mara sits down", duration=0.625))  # carry-over on
    s3 = project.execute(
        AddScene(
            prompt="a city at night",
            duration=0.625,
            carry_over=False,
            generation={"steps": 3, "guidance": 2.0},  # overrides the project's defaults
        )
    )
    heard = []
    results = GenerationRunner(project, engine, on_progress=heard.append).render(takes=2)
    assert [(r.scene_id, r.status, len(r.take_ids)) for r in results] == [
        (s1, "done", 2),
        (s2, "done", 2),
        (s3, "done", 2),
    ]
    r1 = project.take(project.scene(s1).chosen_take_id).recipe
    r2 = project.take(project.scene(s2).chosen_take_id).recipe
    r3 = project.take(project.scene(s3).chosen_take_id).recipe
    assert (
        r1["prompt"] == "Mara walks in. watercolour" and r1["start_image"] and r1["references"] == 1
    )
    assert r1["previous"] is False and r3["previous"] is False and r3["references"] == 0
    assert (r1["steps"], r3["steps"], r3["guidance"]) == (FAST["steps"], 3, 2.0)
    assert r2["previous"] is True and r2["previous_take_id"] == project.scene(s1).chosen_take_id
    assert project.scene(s1).chosen_take_id == results[0].take_ids[0]  # the first take is chosen
    jobs = project.jobs()
    assert len(jobs) == 6 and all(j.status == "done" and j.progress == 1.0 for j in jobs)
    assert "image" not in jobs[0].request and jobs[0].request["image_asset_id"] is not None
    assert {p.status for p in heard} >= {"queued", "running", "done"}


def test_without_an_engine_scenes_fail_with_the_reason_and_their_carry_over_is_skipped(project):
    s1 = project.execute(AddScene(prompt="one", duration=0.625))
    s2 = project.execute(AddScene(prompt="two", duration=0.625))  # waits on s1
    s3 = project.execute(AddScene(prompt="three", duration=0.625, carry_over=False))
    dead = RemoteEngine("http://127.0.0.1:9", "a-token-nobody-has")
    results = GenerationRunner(project, dead).render()
    assert [(r.scene_id, r.status) for r in results] == [
        (s1, "failed"),
        (s2, "skipped"),
        (s3, "failed"),
    ]
    assert "not answering" in results[0].error and "no take to carry over" in results[1].error
    assert [j.status for j in project.jobs()] == ["failed", "failed"]  # a row for every attempt


def test_a_model_that_cannot_load_is_a_clear_start_error(tmp_path, caplog):
    with LocalEngine(tmp_path / "no-such-model", device="cpu") as bad:
        with pytest.raises(EngineStartError, match="model folder not found"):
            bad.ensure()
    # the engine's own output outlives its temporary file, in the application log
    kept = [r.getMessage() for r in caplog.records if r.name == "storyloom.engine"]
    assert any("its output:" in m and "model folder not found" in m for m in kept), kept
    assert not any("token:" in m for m in kept)


def test_storyloom_generate_command(cli, engine, tmp_path, media):
    path = tmp_path / "cli.storyloom"
    assert cli("new", path, "--title", "T", "--size", "64x48", "--fps", "8").code == 0
    with Project.open(path) as p:
        p.execute(EditSettings(generation=dict(FAST)))
        ids = [p.execute(AddScene(prompt=f"scene {i}", duration=0.625)) for i in range(2)]
    client = engine.ensure()  # a running engine, given by URL and token
    assert client.health()["model_loaded"]
    token = engine.token
    r = cli("generate", path, "--missing", "--engine", engine.url, "--token", token)
    assert r.code == 0, r.err
    assert f"scene {ids[0]} done" in r.err and "2 take(s) for 2 of 2 scene(s)" in r.err
    r = cli(
        "generate",
        path,
        "--scene",
        ids[1],
        "--takes",
        "2",
        "--engine",
        engine.url,
        "--token",
        token,
    )
    assert r.code == 0 and "2 take(s)" in r.err
    assert len(cli("info", path, "--json").json()["scenes"][1]["takes"]) == 3
    r = cli(
        "generate", path, "--all", "--engine", "http://127.0.0.1:9", "--token", "whatever-token"
    )
    assert r.code == 1 and "failed" in r.err
    assert cli("generate", path, "--takes", "0").code == 2
    assert cli("generate", path, "--scene", "999").code == 2


def test_cancel_stops_the_running_take_and_the_rest_of_the_storyboard(engine, project):
    s1 = project.execute(AddScene(prompt="one", duration=0.625))
    s2 = project.execute(AddScene(prompt="two", duration=0.625, carry_over=False))
    project.execute(EditSettings(generation=dict(FAST, steps=400)))
    runner = GenerationRunner(project, engine)

    def cancel_when_running(p):
        if p.status == "running" and p.step >= 2:
            runner.cancel()

    runner.on_progress = cancel_when_running
    results = runner.render()
    assert [(r.scene_id, r.status) for r in results] == [(s1, "cancelled"), (s2, "cancelled")]
    (job,) = project.jobs()
    assert job.status == "cancelled" and job.scene_id == s1  # nothing was sent for scene 2
    last = engine.ensure().list()[-1]
    assert last["status"] == "cancelled" and last["step"] < 400


def test_cancelling_one_scene_stops_it_and_the_others_go_on(engine, project):
    s1 = project.execute(AddScene(prompt="one", duration=0.625))
    s2 = project.execute(AddScene(prompt="two", duration=0.625, carry_over=True))  # needs s1
    s3 = project.execute(AddScene(prompt="three", duration=0.625, carry_over=False))
    project.execute(EditSettings(generation=dict(FAST, steps=60)))
    runner = GenerationRunner(project, engine)

    def cancel_s1_when_running(p):
        if p.scene_id == s1 and p.status == "running" and p.step >= 2:
            runner.cancel_scene(s1)

    runner.on_progress = cancel_s1_when_running
    results = {r.scene_id: r for r in runner.render()}
    assert results[s1].status == "cancelled"
    assert results[s2].status == "skipped" and "no take to carry over" in results[s2].error
    assert results[s3].status == "done" and project.scene(s3).chosen_take_id is not None
    assert {j.scene_id: j.status for j in project.jobs()} == {s1: "cancelled", s3: "done"}
    # a scene cancelled before its turn is never sent
    runner = GenerationRunner(project, engine, skip={s3})
    assert [r.status for r in runner.render([s3])] == ["cancelled"]
    assert len(project.jobs()) == 2
