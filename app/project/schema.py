"""Schema identity and upgrades: PRAGMA application_id marks the file as ours and PRAGMA
user_version holds the schema version. Every upgrade step is a function from version N to N+1;
a backup copy is written before the first step runs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

APPLICATION_ID = 0x53544C4D  # "STLM"
SCHEMA_VERSION = 3

# Takes are immutable: the file itself refuses updates, whoever writes to it.
TAKES_IMMUTABLE_SQL = (
    "CREATE TRIGGER IF NOT EXISTS takes_immutable BEFORE UPDATE ON takes "
    "BEGIN SELECT RAISE(ABORT, 'takes are immutable'); END"
)


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """v2: scenes gain a negative prompt; elements gain a kind (character, prop, place, style)."""
    conn.execute("ALTER TABLE scenes ADD COLUMN negative_prompt TEXT DEFAULT '' NOT NULL")
    conn.execute("ALTER TABLE elements ADD COLUMN kind VARCHAR(16) DEFAULT 'character' NOT NULL")


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """v3: scenes gain per-scene generation overrides (steps, guidance) as JSON."""
    conn.execute("ALTER TABLE scenes ADD COLUMN generation TEXT DEFAULT '{}' NOT NULL")


UPGRADES: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def backup_path(path: Path, version: int) -> Path:
    stem = path.name.removesuffix(".storyloom")
    candidate = path.with_name(f"{stem}.v{version}-backup.storyloom")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{stem}.v{version}-backup-{n}.storyloom")
        n += 1
    return candidate


def upgrade(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Back up, then run every step from `version` to SCHEMA_VERSION in one transaction."""
    backup = backup_path(path, version)
    dest = sqlite3.connect(backup)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    conn.execute("BEGIN IMMEDIATE")
    try:
        for v in range(version, SCHEMA_VERSION):
            UPGRADES[v](conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return backup
