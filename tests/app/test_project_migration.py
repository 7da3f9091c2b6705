"""A version-1 project (committed fixture) upgrades on open, after writing a backup copy."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

from app.project import SCHEMA_VERSION, AddScene, EditScene, Project

FIXTURE = Path(__file__).parent / "fixtures" / "project_v1.storyloom"


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def test_version_1_fixture_upgrades_with_backup(tmp_path, cli):
    assert _version(FIXTURE) == 1
    path = tmp_path / "old.storyloom"
    shutil.copy(FIXTURE, path)
    original = hashlib.sha256(path.read_bytes()).hexdigest()
    with Project.open(path, cache_dir=tmp_path / "cache") as p:
        assert p.upgraded_from == 1 and p.schema_version == SCHEMA_VERSION
        assert p.backup_path is not None and p.backup_path.name == "old.v1-backup.storyloom"
        info = p.info()
        assert (info.title, info.width, info.height, info.style_prompt) == (
            "Old film",
            640,
            360,
            "ink wash",
        )
        s1, s2 = p.scenes()
        assert (s1.prompt, s1.seed, s1.elements, s1.negative_prompt) == (
            "@Mara wakes up",
            7,
            ("Mara",),
            "",
        )
        assert (s2.carry_over, s2.carry_over_strength) == (False, 0.5)
        (mara,) = p.elements()
        assert mara.kind == "character" and mara.description == "a red fox"
        assert p.asset(s1.image_asset_id).original_name == "mara.png"
        assert p.asset_path(s1.image_asset_id).read_bytes()[:4] == b"\x89PNG"
        assert s1.generation == {} and s2.generation == {}  # v3: no overrides yet
        # the new columns are usable and undoable
        p.execute(EditScene(scene_id=s1.id, negative_prompt="blurry"))
        p.execute(EditScene(scene_id=s1.id, generation={"steps": 12}))
        p.execute(AddScene(prompt="new"))
        assert p.scene(s1.id).generation == {"steps": 12}
        p.undo()
        p.undo()
        p.undo()
        assert p.scene(s1.id).negative_prompt == "" and p.scene(s1.id).generation == {}
    assert _version(path) == SCHEMA_VERSION
    backup = tmp_path / "old.v1-backup.storyloom"
    assert _version(backup) == 1
    db = sqlite3.connect(backup)
    assert db.execute("SELECT prompt FROM scenes ORDER BY position").fetchall() == [
        ("@Mara wakes up",),
        ("the forest at dusk",),
    ]
    db.close()
    assert original != hashlib.sha256(path.read_bytes()).hexdigest()
    # opening again does not upgrade or back up again
    with Project.open(path) as p:
        assert p.upgraded_from is None
    assert sorted(x.name for x in tmp_path.iterdir() if x.suffix == ".storyloom") == [
        "old.storyloom",
        "old.v1-backup.storyloom",
    ]
    r = cli("info", path, "--json")
    assert r.json()["schema_version"] == SCHEMA_VERSION


def test_read_only_open_of_an_old_file_asks_for_an_upgrade(tmp_path, cli):
    path = tmp_path / "old.storyloom"
    shutil.copy(FIXTURE, path)
    path.chmod(0o444)
    r = cli("info", path)
    assert r.code == 2 and "upgrade" in r.err
    assert _version(path) == 1
