"""The Python API the editor, generation and export use: undo/redo of every command kind,
groups, listeners, render jobs (with interrupted-job detection) and immutable takes."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest

from app.project import (
    AddAudioClip,
    AddElement,
    AddScene,
    Change,
    ChooseTake,
    DeleteTake,
    EditAudioClip,
    EditAudioTrack,
    EditElement,
    EditScene,
    EditSettings,
    MoveScene,
    NotFoundError,
    Project,
    ProjectError,
    RemoveAudioClip,
    RemoveElement,
    RemoveScene,
)


def _state(p: Project):  # type: ignore[no-untyped-def]
    return (
        p.info(),
        p.scenes(),
        p.elements(),
        p.audio_tracks(),
        [p.takes(s.id) for s in p.scenes()],
    )


def test_every_command_undoes_and_redoes_exactly(project_file, media):
    with Project.open(project_file) as p:
        p.execute(AddElement(name="Mara", images=[media.png]))
        a = p.execute(AddScene(prompt="@Mara", duration=0.1 + 0.2))
        b = p.execute(AddScene(prompt="b"))
        clip = p.execute(AddAudioClip(path=media.wav, track="Music"))
        take = p.add_take(a, media.mp4, {"seed": 5})
        track = p.audio_tracks()[0].id
        commands = [
            EditSettings(
                title="New",
                width=720,
                height=1280,
                fps=30,
                style_prompt="noir",
                generation={"steps": 20},
            ),
            EditScene(scene_id=a, prompt="changed", seed=None, carry_over_strength=0.3),
            MoveScene(scene_id=b, to=0),
            ChooseTake(scene_id=a, take_id=None),
            EditElement(element_id=1, name="Mara2", add_images=[media.png2]),
            EditAudioClip(clip_id=clip, start=2.0, out_point=0.4, track="Voice"),
            EditAudioTrack(track_id=track, mute=True, gain_db=-3.0),
            RemoveAudioClip(clip_id=clip),
            RemoveElement(element_id=1),
            RemoveScene(scene_id=a),
        ]
        for cmd in commands:
            before = _state(p)
            p.execute(cmd)
            after = _state(p)
            assert after != before, cmd
            assert p.undo().label == cmd.label
            assert _state(p) == before, cmd
            p.redo()
            assert _state(p) == after, cmd
        assert take not in [t.id for s in p.scenes() for t in p.takes(s.id)]


def test_group_is_one_step_and_failed_edit_changes_nothing(project_file):
    with Project.open(project_file) as p:
        p.execute(AddScene(prompt="keep"))
        with p.group("Add three"):
            for i in range(3):
                p.execute(AddScene(prompt=str(i)))
        assert len(p.scenes()) == 4
        assert p.undo().label == "Add three"
        assert [s.prompt for s in p.scenes()] == ["keep"]
        with pytest.raises(NotFoundError), p.group("Half"):
            p.execute(AddScene(prompt="half"))
            p.execute(EditScene(scene_id=999, prompt="x"))
        assert [s.prompt for s in p.scenes()] == ["keep"]
        assert p.redo_step().label == "Add three"  # the failed group did not drop the redo


def test_history_survives_reopen_and_floats_round_trip(project_file):
    with Project.open(project_file) as p:
        sid = p.execute(AddScene(prompt="x", duration=0.1 + 0.2))
        p.execute(EditScene(scene_id=sid, duration=1 / 3))
    with Project.open(project_file) as p:
        assert p.undo_step().label == "Edit scene"
        p.undo()
        assert p.scene(sid).duration == 0.1 + 0.2  # bit-exact
    with Project.open(project_file) as p:
        p.redo()
        assert p.scene(sid).duration == 1 / 3


def test_listeners_hear_every_committed_change(project_file):
    heard: list[Change] = []
    with Project.open(project_file) as p:
        p.add_listener(heard.append)
        sid = p.execute(AddScene(prompt="x"))
        with pytest.raises(ProjectError):
            p.execute(EditScene(scene_id=sid, duration=-1))
        p.undo()
        p.redo()
        job = p.create_job(sid, {"prompt": "x"})
        p.start_job(job)
    assert [(c.label, c.source) for c in heard] == [
        ("Add scene", "do"),
        ("Add scene", "undo"),
        ("Add scene", "redo"),
        ("Queue job", "job"),
        ("Start job", "job"),
    ]
    assert "scenes" in heard[0].tables


def test_job_lifecycle_and_take(project_file, media):
    with Project.open(project_file) as p:
        sid = p.execute(AddScene(prompt="x"))
        job = p.create_job(sid, {"prompt": "x", "seed": 3})
        assert p.job(job).status == "queued"
        p.start_job(job)
        p.job_progress(job, 0.5)
        assert (p.job(job).status, p.job(job).progress) == ("running", 0.5)
        take = p.add_take(sid, media.mp4, {"model": "tiny", "seed": 3}, job_id=job)
        p.finish_job(job)
        j = p.job(job)
        assert (j.status, j.progress, j.request["seed"]) == ("done", 1.0, 3)
        assert j.finished_at >= j.started_at
        with pytest.raises(ProjectError, match="cannot become"):
            p.start_job(job)
        t = p.take(take)
        assert (t.seed, t.job_id, t.recipe) == (3, job, {"model": "tiny", "seed": 3})
        assert p.scene(sid).chosen_take_id == take
        other = p.create_job(sid, {})
        p.fail_job(other, "engine ran out of memory")
        assert p.jobs(("failed",))[0].error == "engine ran out of memory"
        p.cancel_job(p.create_job(None, {}))
    db = sqlite3.connect(project_file)
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        db.execute("UPDATE takes SET recipe='{}'")
    db.close()


def test_running_job_of_a_dead_process_shows_as_interrupted(project_file, cli):
    with Project.open(project_file) as p:
        sid = p.execute(AddScene(prompt="x"))
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r_fd)
        try:
            p = Project.open(project_file)
            job = p.create_job(sid, {"prompt": "x"})
            p.start_job(job)
            os.write(w_fd, f"{job}\n".encode())
            time.sleep(60)  # wait to be killed
        finally:
            os._exit(0)
    os.close(w_fd)
    with os.fdopen(r_fd, "rb") as f:
        job = int(f.readline())
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with Project.open(project_file) as p:
        (j,) = p.interrupted_jobs
        assert (j.id, j.status, j.interrupted) == (job, "failed", True)
        assert "interrupted" in j.error
    with Project.open(project_file) as p:
        assert p.interrupted_jobs == []  # reported once, kept in the log
        assert p.job(job).interrupted
    assert cli("info", project_file, "--json").json()["interrupted_jobs"] == []


def test_deleting_takes_rechooses_and_undo_redo_survive_reopening(project_file, media):
    with Project.open(project_file) as p:
        sid = p.execute(AddScene(prompt="x"))
        t1 = p.add_take(sid, media.mp4, {"seed": 1})
        t2 = p.add_take(sid, media.mp4, {"seed": 2}, choose=False)
        p.execute(DeleteTake(t1))  # the chosen one: the other take becomes chosen
        assert [t.id for t in p.takes(sid)] == [t2] and p.scene(sid).chosen_take_id == t2
        p.delete_take(t2)
        assert p.takes(sid) == [] and p.scene(sid).chosen_take_id is None
        with pytest.raises(NotFoundError, match="no take with id"):
            p.delete_take(t2)
    with Project.open(project_file) as p:
        p.undo()
        p.undo()
        assert [t.id for t in p.takes(sid)] == [t1, t2] and p.scene(sid).chosen_take_id == t1
        assert p.take(t1).recipe == {"seed": 1}  # back whole, video included
        assert len(p.open_asset(p.take(t1).asset_id).read()) == media.mp4.stat().st_size
        p.redo()
        assert [t.id for t in p.takes(sid)] == [t2]
