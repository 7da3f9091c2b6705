"""Bad input gets one line on stderr, exit code 2, no traceback, and changes nothing."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from media_files import make_wav

from app.project import AddAudioClip, Project, ProjectError

TABLES = (
    "project",
    "scenes",
    "elements",
    "element_images",
    "scene_elements",
    "takes",
    "audio_tracks",
    "audio_clips",
    "assets",
    "history_steps",
    "history_ops",
    "render_jobs",
)


def snapshot(path: Path) -> dict:
    """Every row of the file, read with plain sqlite3 (not our code)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES} | {
            "chunks": db.execute("SELECT count(*) FROM asset_chunks").fetchone()
        }
    finally:
        db.close()


def assert_one_line_error(r, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.err.startswith("storyloom: error: ") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err
    for n in needles:
        assert n in r.err, r.err


@pytest.fixture
def seeded(cli, project_file, media):  # type: ignore[no-untyped-def]
    cli("element", "add", project_file, "--name", "Mara", "--image", media.png)
    cli("scene", "add", project_file, "--prompt", "@Mara", "--duration", "2")
    cli("audio", "add", project_file, media.wav)
    return project_file


def test_missing_file(cli, tmp_path):
    for argv in (
        ("info", tmp_path / "no.storyloom"),
        ("scene", "add", tmp_path / "no.storyloom", "--prompt", "x"),
    ):
        assert_one_line_error(cli(*argv), "no such project file")
    assert list(tmp_path.iterdir()) == []  # not even a lock file was left


def test_commands_and_their_errors_go_to_the_application_log(cli, tmp_path):
    from app.app_log import LOG_NAME, log_dir

    missing = tmp_path / "gone.storyloom"
    assert_one_line_error(cli("info", missing), "no such project file")
    text = (log_dir() / LOG_NAME).read_text()
    assert f"storyloom info {missing}" in text
    assert "ERROR storyloom.cli: info failed: " in text and "no such project file" in text


@pytest.mark.parametrize(
    "content", [b"", b"hello, not a database", b"SQLite format 3\x00" + b"\xaa" * 5000]
)
def test_not_a_project_or_corrupt_header(cli, tmp_path, content):
    path = tmp_path / "x.storyloom"
    path.write_bytes(content)
    assert_one_line_error(cli("scene", "add", path, "--prompt", "p"), "not a Storyloom project")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.storyloom"]


def test_someone_elses_sqlite_file_is_refused_untouched(cli, tmp_path):
    path = tmp_path / "other.storyloom"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    before = path.read_bytes()
    assert_one_line_error(cli("info", path), "not a Storyloom project")
    assert_one_line_error(cli("undo", path), "not a Storyloom project")
    assert path.read_bytes() == before


def test_damaged_project(cli, seeded):
    data = bytearray(seeded.read_bytes())
    data[4096:] = b"\xaa" * (len(data) - 4096)  # keep the header page, wreck the rest
    seeded.write_bytes(bytes(data))
    assert_one_line_error(cli("scene", "add", seeded, "--prompt", "p"))
    assert_one_line_error(cli("info", seeded, "--json"))


def test_newer_version(cli, seeded):
    db = sqlite3.connect(seeded)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    before = snapshot(seeded)
    assert_one_line_error(cli("scene", "add", seeded, "--prompt", "p"), "newer Storyloom")
    assert_one_line_error(cli("info", seeded), "newer Storyloom")
    assert snapshot(seeded) == before


def test_project_open_elsewhere_refuses_edits_but_allows_reading(cli, seeded):
    before = snapshot(seeded)
    with Project.open(seeded):
        assert_one_line_error(cli("scene", "add", seeded, "--prompt", "p"), "open elsewhere")
        assert_one_line_error(cli("undo", seeded), "open elsewhere")
        r = cli("info", seeded, "--json")
        assert r.code == 0 and r.json()["scenes"][0]["prompt"] == "@Mara"
    assert snapshot(seeded) == before


def test_undecodable_image_and_audio(cli, seeded, media, tmp_path):
    before = snapshot(seeded)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all\n" * 50)
    cases = [
        ("scene", "add", seeded, "--prompt", "p", "--image", media.junk),
        ("scene", "edit", seeded, "1", "--image", media.junk),
        ("element", "add", seeded, "--name", "Fox", "--image", media.png2, media.junk),
        ("audio", "add", seeded, text),
        ("audio", "add", seeded, media.png),  # an image is not audio
        ("audio", "add", seeded, tmp_path / "missing.wav"),
        ("scene", "add", seeded, "--prompt", "p", "--image", media.wav),
    ]
    for argv in cases:
        assert_one_line_error(cli(*argv))
    assert snapshot(seeded) == before  # also: fox.png, valid, was not stored half-way


@pytest.mark.parametrize("duration", ["0", "-1", "nan", "inf"])
def test_bad_duration(cli, seeded, duration):
    before = snapshot(seeded)
    assert_one_line_error(
        cli("scene", "add", seeded, "--prompt", "p", "--duration", duration), "duration"
    )
    assert_one_line_error(cli("scene", "edit", seeded, "1", "--duration", duration), "duration")
    assert snapshot(seeded) == before


def test_unknown_scene_or_element(cli, seeded):
    before = snapshot(seeded)
    for argv in (
        ("scene", "edit", seeded, "99", "--prompt", "x"),
        ("scene", "move", seeded, "99", "--to", "0"),
        ("scene", "remove", seeded, "99"),
    ):
        assert_one_line_error(cli(*argv), "no scene with id 99")
    assert_one_line_error(
        cli("scene", "add", seeded, "--prompt", "x", "--elements", "Mara,Bob"), "Bob"
    )
    assert_one_line_error(cli("scene", "edit", seeded, "1", "--elements", "Bob"), "Bob")
    assert_one_line_error(cli("scene", "move", seeded, "1", "--to", "-1"))
    assert_one_line_error(cli("scene", "add", seeded, "--prompt", "x", "--duration", "two"))
    assert_one_line_error(cli("scene", "edit", seeded, "abc", "--prompt", "x"))
    assert_one_line_error(cli("element", "add", seeded, "--name", "mara"), "already exists")
    assert snapshot(seeded) == before


def test_names_that_are_not_utf8(cli, seeded, tmp_path):
    bad = os.fsdecode(b"caf\xe9")  # how Python hands over argv bytes that are not UTF-8
    before = snapshot(seeded)
    for argv in (
        ("scene", "add", seeded, "--prompt", bad),
        ("element", "add", seeded, "--name", bad),
        ("audio", "add", seeded, tmp_path / "media" / "tone.wav", "--track", bad),
    ):
        assert_one_line_error(cli(*argv), "UTF-8")
    assert snapshot(seeded) == before
    assert_one_line_error(cli("new", tmp_path / "n.storyloom", "--title", bad), "UTF-8")
    assert not (tmp_path / "n.storyloom").exists()


def test_read_only_file_and_folder(cli, seeded, tmp_path):
    before = snapshot(seeded)
    seeded.chmod(0o444)
    try:
        assert_one_line_error(cli("scene", "add", seeded, "--prompt", "p"), "read-only")
        assert cli("info", seeded).code == 0  # reading a read-only project still works
    finally:
        seeded.chmod(0o644)
    folder = tmp_path / "locked"
    folder.mkdir()
    proj = folder / "p.storyloom"
    assert cli("new", proj, "--title", "P").code == 0
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert_one_line_error(cli("scene", "add", proj, "--prompt", "p"), "read-only")
        assert_one_line_error(cli("new", folder / "q.storyloom", "--title", "Q"), "read-only")
        assert cli("scene", "list", proj).code == 0
        assert sorted(p.name for p in folder.iterdir()) == ["p.storyloom"]
    finally:
        folder.chmod(0o755)
    assert snapshot(seeded) == before


def test_new_refuses_to_overwrite(cli, seeded):
    before = snapshot(seeded)
    assert_one_line_error(cli("new", seeded, "--title", "Again"), "already exists")
    assert_one_line_error(
        cli("new", seeded.parent / "b.storyloom", "--title", "B", "--size", "big")
    )
    assert_one_line_error(
        cli("new", seeded.parent / "b.storyloom", "--title", "B", "--size", "7x7")
    )
    assert snapshot(seeded) == before


def test_full_disk_during_import_changes_nothing(seeded, tmp_path):
    big = make_wav(tmp_path / "long.wav", seconds=120, rate=16000)  # ~3.8 MB
    before = snapshot(seeded)
    with Project.open(seeded) as p:
        raw = p._conn.connection.dbapi_connection
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
        # The same error SQLite raises when the disk fills: no room for the file to grow.
        raw.execute(f"PRAGMA max_page_count = {pages + 64}")
        with pytest.raises(ProjectError, match="disk is full"):
            p.execute(AddAudioClip(path=big))
        assert p.integrity_check() == "ok"
    assert snapshot(seeded) == before
