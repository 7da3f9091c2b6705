"""`storyloom export`, `storyloom presets` and `storyloom demo`, in-process and as real
processes (one of them killed with SIGKILL mid-export)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from render_media import add_audio, build_project, decode_video, make_wav, tone

from app.render import read_recipe

ROOT = Path(__file__).resolve().parents[2]
RED, BLUE = (230, 20, 20), (20, 20, 230)


@pytest.fixture
def film(tmp_path: Path) -> tuple[Path, list[int]]:
    p, ids = build_project(
        tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED), (0.5, BLUE), (0.5, RED)]
    )
    with p:
        add_audio(p, make_wav(tmp_path / "m" / "t.wav", tone(1.5, 0.3)))
    return tmp_path / "f.storyloom", ids


def test_export_command_writes_the_asked_part(cli, film, tmp_path: Path) -> None:
    path, ids = film
    out = tmp_path / "part.mp4"
    r = cli(
        "export",
        path,
        "-o",
        out,
        "--scenes",
        f"{ids[1]}-{ids[2]}",
        "--preset",
        "draft",
        "--transition",
        "crossfade:0.25",
        "--cut",
        f"{ids[2]}=fade:0.25",
        "--speed",
        "ultrafast",
    )
    assert r.code == 0, r.err
    assert str(out) in r.out and "with sound" in r.out
    frames, stream, fps = decode_video(out)
    assert len(frames) == 24 and frames[0].shape[:2] == (480, 854)
    recipe = read_recipe(out)
    assert [s["id"] for s in recipe["scenes"]] == ids[1:]
    assert recipe["scenes"][1]["transition_in"] == {"kind": "fade", "duration": 0.25}
    r = cli("export", path, "-o", tmp_path / "r.wav", "--range", "0-1")
    assert r.code == 0, r.err
    with av.open(str(tmp_path / "r.wav")) as box:
        assert not box.streams.video and box.duration / av.time_base == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{tmp}/nope/x.mp4"], "the output folder"),
        (["-o", "{tmp}/x.mp4", "--scenes", "999"], "no scene with id 999"),
        (["-o", "{tmp}/x.mp4", "--range", "2-9"], "outside the timeline"),
        (["-o", "{tmp}/x.mp4", "--take", "999"], "no take with id 999"),
        (["-o", "{tmp}/x.mp4", "--preset", "cinema"], "invalid choice: 'cinema'"),
        (["-o", "{tmp}/x.mp4", "--transition", "wipe:1"], "unknown transition 'wipe'"),
        (["-o", "{tmp}/x.mp4", "--subtitles", "{tmp}/none.srt"], "none.srt: cannot be read"),
    ],
)
def test_export_errors_are_one_line_with_exit_2(cli, film, tmp_path, args, message) -> None:
    path, _ = film
    r = cli("export", path, *[a.format(tmp=tmp_path) for a in args])
    assert r.code == 2
    assert message in r.err and r.err.count("\n") == 1
    assert not (tmp_path / "x.mp4").exists()


def test_presets_command_lists_every_preset(cli) -> None:
    r = cli("presets", "--json")
    assert r.code == 0
    names = {p["name"] for p in r.json()["presets"]}
    assert names == {"web-1080p", "web-720p", "vertical", "square", "draft", "native"}


def test_subtitles_from_an_srt_file(cli, film, tmp_path: Path) -> None:
    path, _ = film
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,100 --> 00:00:00,400\n<i>Hello</i> there\n\n", "utf-8")
    r = cli("export", path, "-o", tmp_path / "s.mp4", "--subtitles", srt, "--speed", "ultrafast")
    assert r.code == 0, r.err
    frames, _, _ = decode_video(tmp_path / "s.mp4")
    assert (frames[5][60:] > 200).all(axis=2).sum() > 20  # white text during the cue
    assert (frames[15][60:] > 200).all(axis=2).sum() == 0


def _export_process(project: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "export", str(project), "-o", str(out), "-q"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_killed_export_leaves_nothing_under_the_name(tmp_path: Path) -> None:
    # a 30 s scene without a take: a placeholder card, so all the time goes into encoding
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(30.0, None)], size=(320, 180))
    p.close()
    out = tmp_path / "film.mp4"
    proc = _export_process(tmp_path / "f.storyloom", out)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            partial = [f for f in tmp_path.iterdir() if f.name.startswith(".film.mp4.")]
            if partial and partial[0].stat().st_size > 20_000:
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.02)
        else:
            pytest.fail("the export never started writing")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert not out.exists()
    assert [f.name for f in tmp_path.iterdir() if ".partial" in f.name]  # the dead one's temp
    # the next export to the same name clears the dead writer's leftovers and succeeds
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "export",
            str(tmp_path / "f.storyloom"),
            "-o",
            str(out),
            "--scenes",
            "1",
            "--preset",
            "draft",
            "--speed",
            "ultrafast",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert out.is_file() and not [f for f in tmp_path.iterdir() if ".partial" in f.name]


def test_demo_builds_the_sample_storyboard_and_renders_it(cli, tmp_path: Path) -> None:
    out = tmp_path / "demo.mp4"
    r = cli("demo", "-o", out, "--sample-footage")
    assert r.code == 0, r.err
    frames, stream, fps = decode_video(out)
    assert frames[0].shape[:2] == (360, 640) and abs(len(frames) / fps - 16.0) <= 1 / fps
    with av.open(str(out)) as box:
        assert box.streams.audio[0].codec_context.name == "aac"
    recipe = read_recipe(out)
    assert len(recipe["scenes"]) == 4 and recipe["models"] == []
    assert all(s["take"]["recipe"]["source"] == "sample footage" for s in recipe["scenes"])
    info = cli("info", tmp_path / "demo.storyloom", "--json").json()
    assert {e["name"] for e in info["elements"]} == {"Mara", "Lantern", "Forest"}
    assert {t["name"] for t in info["audio_tracks"]} == {"Music", "Effects"}
    assert all(s["chosen_take"] for s in info["scenes"])


def test_demo_generates_every_scene_with_the_default_model(cli, tmp_path: Path) -> None:
    """`storyloom demo` as `make demo` runs it: the engine process with the shipped model makes
    every take along the carry-over chain; no scene falls back to sample footage."""
    out = tmp_path / "demo.mp4"
    r = cli("demo", "-o", out, "-q")
    assert r.code == 0, r.err
    assert "sample footage" not in r.err
    recipe = read_recipe(out)
    assert [m["id"] for m in recipe["models"]] == ["storyloom-tiny"]
    takes = [s["take"]["recipe"] for s in recipe["scenes"]]
    assert len(takes) == 4 and all(t["model"] == "storyloom-tiny" and t["trained"] for t in takes)
    assert all(t["previous"] for t in takes[1:] if t.get("previous_take_id"))
    frames, _, fps = decode_video(out)
    assert abs(len(frames) / fps - 16.0) <= 1 / fps and np.std(frames[len(frames) // 2]) > 5
