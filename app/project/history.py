"""Undo and redo kept in the project file, recorded by triggers (sqlite.org/undoredo.html).

Every change to an undoable table, while a step is being recorded, makes a trigger write the SQL
that reverses it into `history_ops`. Undoing a step runs its statements newest-first; the triggers
record their reverses into the same step, which then becomes the redo. The triggers are TEMP, made
on every connection from the live schema, so they always match the current columns and a plain
`sqlite3` session on the file records nothing. The history is ordinary rows, so it survives
closing and reopening, and a crash mid-edit rolls back the step together with the edit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection

from .models import UNDOABLE_TABLES


@dataclass(frozen=True)
class Step:
    id: int
    label: str
    tables: tuple[str, ...]


def _lit(ref: str) -> str:
    # 17 significant digits so a float survives the round trip through SQL text exactly.
    return f"CASE WHEN typeof({ref})='real' THEN printf('%!.17g',{ref}) ELSE quote({ref}) END"


def install_triggers(conn: Connection) -> None:
    """Create the temp recording table and the per-table triggers on this connection."""
    conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS undo_recording(step_id INTEGER)")
    recording = "EXISTS (SELECT 1 FROM undo_recording)"
    step = "(SELECT step_id FROM undo_recording)"
    for t in UNDOABLE_TABLES:
        cols = [r[1] for r in conn.exec_driver_sql(f"PRAGMA main.table_info({t})")]
        inv_insert = f"'DELETE FROM {t} WHERE rowid='||new.rowid"
        sets = "||','||".join(f"'{c}='||{_lit('old.' + c)}" for c in cols)
        inv_update = f"'UPDATE {t} SET '||{sets}||' WHERE rowid='||old.rowid"
        values = "||','||".join(_lit("old." + c) for c in cols)
        inv_delete = (
            f"'INSERT INTO {t}(rowid,{','.join(cols)}) VALUES('||old.rowid||','||{values}||')'"
        )
        changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in cols)
        for event, when, sql in (
            ("INSERT", recording, inv_insert),
            ("UPDATE", f"{recording} AND ({changed})", inv_update),
            ("DELETE", recording, inv_delete),
        ):
            conn.exec_driver_sql(
                f"CREATE TEMP TRIGGER IF NOT EXISTS undo_{t}_{event.lower()} AFTER {event} ON {t} "
                f"WHEN {when} BEGIN INSERT INTO history_ops(step_id, sql) VALUES ({step}, {sql}); END"
            )


def begin_step(conn: Connection, label: str, tables: tuple[str, ...]) -> int:
    """Start recording a new step (inside an open transaction); a new edit drops the redo stack."""
    conn.exec_driver_sql(
        "DELETE FROM history_ops WHERE step_id IN "
        "(SELECT id FROM history_steps WHERE state='undone')"
    )
    conn.exec_driver_sql("DELETE FROM history_steps WHERE state='undone'")
    step_id = conn.exec_driver_sql(
        "INSERT INTO history_steps(label, state, tables, created_at) VALUES (?, 'done', ?, ?)",
        (label, ",".join(tables), time.time()),
    ).lastrowid
    conn.exec_driver_sql("DELETE FROM undo_recording")
    conn.exec_driver_sql("INSERT INTO undo_recording VALUES (?)", (step_id,))
    return int(step_id)


def end_step(conn: Connection, step_id: int) -> bool:
    """Stop recording; a step that changed nothing is dropped. Returns whether it was kept."""
    conn.exec_driver_sql("DELETE FROM undo_recording")
    has_ops = conn.exec_driver_sql(
        "SELECT 1 FROM history_ops WHERE step_id=? LIMIT 1", (step_id,)
    ).first()
    if has_ops is None:
        conn.exec_driver_sql("DELETE FROM history_steps WHERE id=?", (step_id,))
        return False
    return True


def peek(conn: Connection, state: str) -> Step | None:
    """The step an undo ('done') or a redo ('undone') would replay."""
    order = "DESC" if state == "done" else "ASC"
    row = conn.exec_driver_sql(
        f"SELECT id, label, tables FROM history_steps WHERE state=? ORDER BY id {order} LIMIT 1",
        (state,),
    ).first()
    if row is None:
        return None
    return Step(int(row[0]), row[1], tuple(t for t in row[2].split(",") if t))


def replay(conn: Connection, step: Step, new_state: str) -> None:
    """Run a step's recorded statements newest-first, recording their reverses in its place."""
    ops = conn.exec_driver_sql(
        "SELECT sql FROM history_ops WHERE step_id=? ORDER BY seq DESC", (step.id,)
    ).all()
    conn.exec_driver_sql("DELETE FROM history_ops WHERE step_id=?", (step.id,))
    # Rows come back in reverse order of their making, so parents may follow children.
    conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    conn.exec_driver_sql("INSERT INTO undo_recording VALUES (?)", (step.id,))
    try:
        for (sql,) in ops:
            conn.exec_driver_sql(sql)
    finally:
        conn.exec_driver_sql("DELETE FROM undo_recording")
    conn.exec_driver_sql("UPDATE history_steps SET state=? WHERE id=?", (new_state, step.id))
