"""Opening the SQLite file: identity checks, pragmas, creation and upgrade.

One SQLAlchemy engine per open project with a single shared connection (StaticPool): the undo
triggers and the recording flag are per connection, and a single writer keeps ordering simple.
Writes begin with BEGIN IMMEDIATE so a transaction never has to upgrade its lock half-way.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.pool import StaticPool

from .errors import NotAProjectError, ProjectError, ProjectTooNewError, ReadOnlyError
from .models import Base, ProjectRow
from .schema import APPLICATION_ID, SCHEMA_VERSION, TAKES_IMMUTABLE_SQL

SQLITE_MAGIC = b"SQLite format 3\x00"


def check_exists(path: Path) -> None:
    if not path.exists():
        raise NotAProjectError(f"{path}: no such project file")
    if not path.is_file():
        raise NotAProjectError(f"{path}: is not a file")
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise NotAProjectError(f"{path}: not a Storyloom project (or it is damaged)")


def _write_bits(p: Path) -> bool:
    # Mode bits as well as access(): a file the user marked read-only stays untouched even
    # when we run as root, who may write anything.
    return os.access(p, os.W_OK) and bool(
        p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    )


def check_writable(path: Path) -> None:
    folder = path.parent
    if path.exists() and not _write_bits(path):
        raise ReadOnlyError(f"{path}: the project file is read-only")
    if not _write_bits(folder):
        raise ReadOnlyError(f"{path}: its folder is read-only (SQLite needs to write beside it)")


def make_engine(path: Path, readonly: bool = False) -> Engine:
    def connect() -> sqlite3.Connection:
        if readonly:
            immutable = "&immutable=1" if not _write_bits(path.parent) else ""
            uri = f"{path.resolve().as_uri()}?mode=ro{immutable}"
            return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        return sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5)

    engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool)

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def read_identity(raw: sqlite3.Connection, path: Path) -> int:
    """Check application_id; return the schema version (raises for foreign or newer files)."""
    try:
        app_id = raw.execute("PRAGMA application_id").fetchone()[0]
        version = raw.execute("PRAGMA user_version").fetchone()[0]
        raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as e:
        raise NotAProjectError(f"{path}: not a Storyloom project (or it is damaged)") from e
    if app_id != APPLICATION_ID:
        raise NotAProjectError(f"{path}: not a Storyloom project")
    if version > SCHEMA_VERSION:
        raise ProjectTooNewError(
            f"{path}: written by a newer Storyloom (schema {version}; this one reads up to "
            f"{SCHEMA_VERSION}); please update Storyloom"
        )
    if version < 1:
        raise NotAProjectError(f"{path}: not a Storyloom project (no schema version)")
    return int(version)


def set_pragmas(raw: sqlite3.Connection) -> None:
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("PRAGMA busy_timeout = 5000")
    if raw.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        raw.execute("PRAGMA journal_mode = WAL")
    # FULL: a committed edit survives power loss too, not just a crash of the program.
    raw.execute("PRAGMA synchronous = FULL")


def create_file(path: Path, title: str, width: int, height: int, fps: float) -> None:
    """Write a new, empty project (to a temp name, then rename, so no half file is left)."""
    if path.exists():
        raise ProjectError(f"{path}: already exists; choose another name")
    tmp = path.with_name(f".{path.name}.creating-{os.getpid()}")
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(tmp), poolclass=StaticPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
            Base.metadata.create_all(conn)
            conn.exec_driver_sql(TAKES_IMMUTABLE_SQL)
            conn.execute(
                insert(ProjectRow).values(
                    id=1, title=title, width=width, height=height, fps=fps, created_at=time.time()
                )
            )
        engine.dispose()
        try:
            os.link(tmp, path)  # never clobbers a file made meanwhile
        except FileExistsError as e:
            raise ProjectError(f"{path}: already exists; choose another name") from e
        except OSError:
            os.replace(tmp, path)  # filesystems without hard links
    except sqlite3.OperationalError as e:
        raise ProjectError(f"{path}: cannot create the project ({e})") from e
    finally:
        engine.dispose()
        tmp.unlink(missing_ok=True)
