"""Every `storyloom` command on a real project file, with undo/redo of each kind of edit, also
across reopening (each CLI call opens and closes the file, so every step is a reopen)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.project import SCHEMA_VERSION, Project


def _info(cli, path):  # type: ignore[no-untyped-def]
    r = cli("info", path, "--json")
    assert r.code == 0, r.err
    return r.json()


def test_new_writes_settings_and_info_json_has_the_issue_keys(cli, project_file):
    d = _info(cli, project_file)
    for key in (
        "title",
        "width",
        "height",
        "fps",
        "schema_version",
        "scenes",
        "elements",
        "audio_tracks",
    ):
        assert key in d
    assert (d["title"], d["width"], d["height"], d["fps"]) == ("Film", 640, 360, 24.0)
    assert d["schema_version"] == SCHEMA_VERSION and d["scenes"] == []


def test_new_accepts_any_aspect(cli, tmp_path):
    for size in ("720x1280", "512x512", "1920x804"):
        path = tmp_path / f"{size}.storyloom"
        assert cli("new", path, "--title", "T", "--size", size).code == 0
        d = _info(cli, path)
        assert f"{d['width']}x{d['height']}" == size


def test_scene_add_prints_id_and_orders_the_timeline(cli, project_file, media):
    a = cli("scene", "add", project_file, "--prompt", "first", "--duration", "3")
    b = cli(
        "scene", "add", project_file, "--prompt", "second", "--image", media.png, "--seed", "42"
    )
    c = cli("scene", "add", project_file, "--prompt", "zeroth", "--at", "0")
    ids = [int(r.out) for r in (a, b, c)]
    scenes = _info(cli, project_file)["scenes"]
    assert [s["id"] for s in scenes] == [ids[2], ids[0], ids[1]]
    assert [s["position"] for s in scenes] == [0, 1, 2]
    assert scenes[1]["duration"] == 3.0 and scenes[0]["duration"] == 4.0
    assert scenes[2]["seed"] == 42 and scenes[2]["image"]["name"] == "mara.png"
    for s in scenes:
        assert s["takes"] == [] and s["chosen_take"] is None


def test_scene_list_text_and_json_agree(cli, project_file):
    cli("scene", "add", project_file, "--prompt", "a")
    cli("scene", "add", project_file, "--prompt", "b")
    listed = cli("scene", "list", project_file, "--json").json()
    assert listed == _info(cli, project_file)["scenes"]
    text = cli("scene", "list", project_file).out.splitlines()
    assert [line.split("\t")[-1] for line in text] == ["a", "b"]


def test_scene_edit_changes_fields_and_undo_redo_restores_them(cli, project_file, media):
    cli("element", "add", project_file, "--name", "Mara")
    sid = cli("scene", "add", project_file, "--prompt", "before").out.strip()
    before = _info(cli, project_file)
    r = cli(
        "scene",
        "edit",
        project_file,
        sid,
        "--prompt",
        "after",
        "--duration",
        "6.5",
        "--image",
        media.png,
        "--seed",
        "9",
        "--elements",
        "Mara",
        "--carry-over",
        "off",
    )
    assert r.code == 0, r.err
    s = _info(cli, project_file)["scenes"][0]
    assert (s["prompt"], s["duration"], s["seed"], s["elements"], s["carry_over"]) == (
        "after",
        6.5,
        9,
        ["Mara"],
        False,
    )
    assert s["image"]["name"] == "mara.png"
    after = _info(cli, project_file)
    assert cli("undo", project_file).out.strip() == "undo: Edit scene"
    assert _info(cli, project_file) == before
    assert cli("redo", project_file).code == 0
    assert _info(cli, project_file) == after


def test_scene_generation_overrides_from_the_cli(cli, project_file):
    sid = cli("scene", "add", project_file, "--prompt", "p").out.strip()
    assert cli("scene", "edit", project_file, sid, "--steps", "12", "--guidance", "6.5").code == 0
    (scene,) = cli("info", project_file, "--json").json()["scenes"]
    assert scene["generation"] == {"steps": 12, "guidance": 6.5}
    assert cli("scene", "edit", project_file, sid, "--steps", "default").code == 0
    assert cli("info", project_file, "--json").json()["scenes"][0]["generation"] == {
        "guidance": 6.5
    }
    bad = cli("scene", "edit", project_file, sid, "--steps", "0")
    assert bad.code == 2 and "steps must be between 1 and 500" in bad.err
    bad = cli("scene", "edit", project_file, sid, "--guidance", "lots")
    assert bad.code == 2 and "not a number or 'default'" in bad.err
    assert cli("undo", project_file).code == 0
    assert cli("info", project_file, "--json").json()["scenes"][0]["generation"] == {
        "steps": 12,
        "guidance": 6.5,
    }


def test_mention_links_element(cli, project_file):
    cli("element", "add", project_file, "--name", "Mara")
    cli("scene", "add", project_file, "--prompt", "@mara runs into the woods")
    assert _info(cli, project_file)["scenes"][0]["elements"] == ["Mara"]


def test_scene_move_and_its_undo(cli, project_file):
    ids = [cli("scene", "add", project_file, "--prompt", p).out.strip() for p in "abcd"]
    assert cli("scene", "move", project_file, ids[0], "--to", "2").code == 0
    assert [s["prompt"] for s in _info(cli, project_file)["scenes"]] == list("bcad")
    assert cli("scene", "move", project_file, ids[3], "--to", "0").code == 0
    assert [s["prompt"] for s in _info(cli, project_file)["scenes"]] == list("dbca")
    cli("undo", project_file)
    cli("undo", project_file)
    assert [s["prompt"] for s in _info(cli, project_file)["scenes"]] == list("abcd")
    cli("redo", project_file)
    assert [s["prompt"] for s in _info(cli, project_file)["scenes"]] == list("bcad")


def test_scene_remove_and_undo_brings_back_its_takes_and_elements(cli, project_file, media):
    cli("element", "add", project_file, "--name", "Mara")
    sid = int(cli("scene", "add", project_file, "--prompt", "@Mara", "--image", media.png).out)
    cli("scene", "add", project_file, "--prompt", "other")
    with Project.open(project_file) as p:
        take = p.add_take(sid, media.mp4, {"model": "tiny", "seed": 3})
    before = _info(cli, project_file)
    assert cli("scene", "remove", project_file, sid).code == 0
    d = _info(cli, project_file)
    assert [s["prompt"] for s in d["scenes"]] == ["other"] and d["scenes"][0]["position"] == 0
    cli("undo", project_file)
    restored = _info(cli, project_file)
    assert restored == before
    assert restored["scenes"][0]["takes"] == [take] and restored["scenes"][0]["chosen_take"] == take
    cli("redo", project_file)
    assert [s["prompt"] for s in _info(cli, project_file)["scenes"]] == ["other"]


def test_element_add_with_images_and_its_undo(cli, project_file, media):
    r = cli(
        "element",
        "add",
        project_file,
        "--name",
        "Mara",
        "--description",
        "a red fox",
        "--image",
        media.png,
        media.png2,
    )
    assert r.code == 0, r.err
    (e,) = _info(cli, project_file)["elements"]
    assert (e["name"], e["description"]) == ("Mara", "a red fox")
    assert [i["name"] for i in e["images"]] == ["mara.png", "fox.png"]
    cli("undo", project_file)
    assert _info(cli, project_file)["elements"] == []
    cli("redo", project_file)
    assert _info(cli, project_file)["elements"][0]["images"] == e["images"]


def test_audio_add_makes_track_and_clip_and_its_undo(cli, project_file, media):
    r = cli(
        "audio",
        "add",
        project_file,
        media.wav,
        "--track",
        "Music",
        "--start",
        "1.5",
        "--gain",
        "-6",
        "--fade-in",
        "0.1",
        "--fade-out",
        "0.2",
    )
    assert r.code == 0, r.err
    (track,) = _info(cli, project_file)["audio_tracks"]
    (clip,) = track["clips"]
    assert track["name"] == "Music" and clip["id"] == int(r.out)
    assert (clip["start"], clip["gain_db"], clip["fade_in"], clip["fade_out"]) == (
        1.5,
        -6.0,
        0.1,
        0.2,
    )
    assert clip["media"]["kind"] == "audio"
    cli("audio", "add", project_file, media.wav, "--track", "Music", "--start", "3")
    assert len(_info(cli, project_file)["audio_tracks"][0]["clips"]) == 2
    cli("undo", project_file)
    cli("undo", project_file)
    assert _info(cli, project_file)["audio_tracks"] == []
    cli("redo", project_file)
    assert _info(cli, project_file)["audio_tracks"] == [track]


def test_undo_everything_then_redo_everything_across_reopen(cli, project_file, media):
    states = [_info(cli, project_file)]
    edits = [
        ("element", "add", project_file, "--name", "Mara", "--image", media.png),
        ("scene", "add", project_file, "--prompt", "@Mara a", "--duration", "2"),
        ("scene", "add", project_file, "--prompt", "b", "--at", "0"),
        ("scene", "edit", project_file, "1", "--duration", "7"),
        ("scene", "move", project_file, "1", "--to", "0"),
        ("audio", "add", project_file, media.wav),
        ("scene", "remove", project_file, "2"),
    ]
    for e in edits:
        assert cli(*e).code == 0
        states.append(_info(cli, project_file))
    for expected in reversed(states[:-1]):
        assert cli("undo", project_file).code == 0
        assert _info(cli, project_file) == expected
    r = cli("undo", project_file)
    assert r.code == 2 and "nothing to undo" in r.err
    for expected in states[1:]:
        assert cli("redo", project_file).code == 0
        assert _info(cli, project_file) == expected
    assert cli("redo", project_file).code == 2


def test_new_edit_after_undo_drops_redo(cli, project_file):
    cli("scene", "add", project_file, "--prompt", "a")
    cli("undo", project_file)
    cli("scene", "add", project_file, "--prompt", "b")
    assert cli("redo", project_file).code == 2
    assert [s["prompt"] for s in _info(cli, project_file)["scenes"]] == ["b"]


def test_info_text_names_everything(cli, project_file, media):
    cli("element", "add", project_file, "--name", "Mara")
    cli("scene", "add", project_file, "--prompt", "@Mara in rain", "--image", media.png)
    cli("audio", "add", project_file, media.wav, "--track", "Voice")
    out = cli("info", project_file).out
    for needle in ("Film", "640x360", "@Mara in rain", "mara.png", "Mara", "Voice", "tone.wav"):
        assert needle in out


def test_entry_point_runs_as_module_and_errors_without_traceback(tmp_path):
    path = tmp_path / "x.storyloom"
    ok = subprocess.run(
        [sys.executable, "-m", "app.cli", "new", str(path), "--title", "X"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert ok.returncode == 0 and path.exists()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "scene",
            "add",
            str(path),
            "--prompt",
            "p",
            "--duration",
            "-2",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_app_main_help_says_what_it_opens(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "app", "--help"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=60,
    )
    assert r.returncode == 0 and "editor" in r.stdout and "usage" in r.stdout


def test_a_new_command_module_is_found_without_editing_cli(tmp_path, monkeypatch, capsys):
    # How generate/export/demo arrive later: a module with register() in app/cli_commands.
    from app import cli, cli_commands

    (tmp_path / "hello.py").write_text(
        "def register(sub):\n"
        "    p = sub.add_parser('hello')\n"
        "    p.set_defaults(func=lambda args: print('hi') or 0)\n"
    )
    monkeypatch.setattr(cli_commands, "__path__", [*cli_commands.__path__, str(tmp_path)])
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cli.main(["hello"]) == 0 and capsys.readouterr().out == "hi\n"


def _editor_env(tmp_path: Path) -> dict[str, str]:
    import os

    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "STORYLOOM_QUIT_AFTER_MS": "1500",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def _recent(tmp_path: Path) -> str:
    return (tmp_path / "config" / "storyloom" / "editor.ini").read_text()


def test_storyloom_file_opens_it_in_the_editor_and_storyloom_alone_reopens_it(
    tmp_path, project_file
):
    env = _editor_env(tmp_path)
    run = [sys.executable, "-m", "app.cli"]
    r = subprocess.run(
        [*run, str(project_file)], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert project_file.name in _recent(tmp_path)  # the editor opened it and recorded it
    # no arguments: the editor again, on the last project (not the usage text of the CLI)
    r = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "usage" not in r.stderr, r.stderr[-2000:]
    assert _recent(tmp_path).count("film.storyloom") >= 1


def test_storyloom_alone_on_first_start_opens_the_sample_storyboard(tmp_path):
    env = _editor_env(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "app.cli"], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert ".storyloom" in _recent(tmp_path) and "film.storyloom" not in _recent(tmp_path)
