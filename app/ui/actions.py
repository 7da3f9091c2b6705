"""The menus and shortcuts an editor user expects, built once per window. Each action calls the
open editor (if there is one); undo and redo come from the QUndoGroup of the open project."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QMenu

from .icons import icon

if TYPE_CHECKING:
    from .editor import Editor
    from .main_window import MainWindow

# Keys that lists and trees keep for themselves even though the window uses them as shortcuts.
LIST_KEYS = {
    Qt.Key.Key_Left,
    Qt.Key.Key_Right,
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
    Qt.Key.Key_Delete,
    Qt.Key.Key_Backspace,
    Qt.Key.Key_Space,
}


class ListKeys(QObject):
    """Lets a focused list keep its navigation keys (instead of stepping the play head)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(obj, QAbstractItemView):
            if (
                event.key() in LIST_KEYS
                and not event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                event.accept()
        return False


def build(win: MainWindow) -> dict[str, QAction]:
    acts: dict[str, QAction] = {}

    def act(
        key: str,
        text: str,
        fn: Callable[[], object],
        shortcut: str | QKeySequence.StandardKey | list | None = None,
        needs_editor: bool = True,
    ) -> QAction:
        a = QAction(text, win)
        if isinstance(shortcut, list):
            a.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(lambda _=False: fn())
        a.setProperty("needs_editor", needs_editor)
        a.setIcon(icon(key))  # resources/icons/KEY.svg where there is one
        win.addAction(a)
        acts[key] = a
        return a

    def ed(fn: Callable[[Editor], object]) -> Callable[[], object]:
        return lambda: win.editor is not None and fn(win.editor)

    mb = win.menuBar()
    m = mb.addMenu("&File")
    m.addAction(act("new", "&New project…", win.new_project, QKeySequence.StandardKey.New, False))
    m.addAction(act("open", "&Open…", win.open_dialog, QKeySequence.StandardKey.Open, False))
    win.recent_menu = QMenu("Open &recent", win)
    m.addMenu(win.recent_menu)
    m.addAction(act("save_as", "Save a &copy as…", win.save_copy, "Ctrl+Shift+S"))
    m.addAction(act("close", "&Close project", win.close_project, "Ctrl+W"))
    m.addSeparator()
    m.addAction(act("export", "&Export…", win.export_dialog, "Ctrl+E"))
    m.addSeparator()
    m.addAction(act("prefs", "&Preferences…", win.preferences, "Ctrl+,", False))
    m.addAction(act("quit", "&Quit", win.close, QKeySequence.StandardKey.Quit, False))

    m = mb.addMenu("&Edit")
    undo = win.undo_group.createUndoAction(win, "&Undo")
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    redo = win.undo_group.createRedoAction(win, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    acts["undo"], acts["redo"] = undo, redo
    m.addAction(undo)
    m.addAction(redo)
    m.addSeparator()
    m.addAction(act("add_scene", "&Add scene", ed(lambda e: e.add_scene()), "Ctrl+Shift+N"))
    m.addAction(
        act("duplicate", "&Duplicate", ed(lambda e: e.timeline.duplicate_selected()), "Ctrl+D")
    )
    m.addAction(
        act("split", "&Split at play head", ed(lambda e: e.timeline.split_at_playhead()), "S")
    )
    m.addAction(
        act(
            "delete",
            "De&lete",
            ed(lambda e: e.timeline.delete_selected()),
            [QKeySequence.StandardKey.Delete, "Backspace"],
        )
    )
    m.addAction(
        act(
            "select_all",
            "Select &all scenes",
            ed(lambda e: e.selection.set([s.id for s in e.doc.scenes()])),
            QKeySequence.StandardKey.SelectAll,
        )
    )

    m = mb.addMenu("&View")
    m.addAction(act("fit", "&Fit timeline", ed(lambda e: e.timeline.fit()), "F"))
    m.addAction(
        act("zoom_in", "Zoom &in", ed(lambda e: e.timeline.zoom(1.5)), ["Ctrl+=", "Ctrl++"])
    )
    m.addAction(act("zoom_out", "Zoom &out", ed(lambda e: e.timeline.zoom(1 / 1.5)), "Ctrl+-"))
    win.panels_menu = m.addMenu("&Panels")

    m = mb.addMenu("&Playback")
    m.addAction(act("play", "&Play / pause", ed(lambda e: e.transport.toggle()), "Space"))
    m.addAction(
        act("shuttle_back", "Play &backwards (J)", ed(lambda e: e.transport.shuttle(-1)), "J")
    )
    m.addAction(act("shuttle_stop", "&Stop (K)", ed(lambda e: e.transport.shuttle(0)), "K"))
    m.addAction(act("shuttle_fwd", "Play &forwards (L)", ed(lambda e: e.transport.shuttle(1)), "L"))
    m.addAction(act("frame_back", "Previous frame", ed(lambda e: e.transport.step(-1)), "Left"))
    m.addAction(act("frame_fwd", "Next frame", ed(lambda e: e.transport.step(1)), "Right"))
    m.addAction(
        act("to_start", "Go to start", ed(lambda e: e.transport.seek(e.transport.range[0])), "Home")
    )
    m.addAction(
        act("to_end", "Go to end", ed(lambda e: e.transport.seek(e.transport.range[1])), "End")
    )
    loop = act("loop", "&Loop", ed(lambda e: e.preview.buttons["loop"].toggle()), "Ctrl+L")
    m.addAction(loop)

    m = mb.addMenu("&Generate")
    m.addAction(
        act("generate", "&Generate scene", ed(lambda e: e.queue.generate_current()), "Ctrl+G")
    )
    m.addAction(
        act(
            "generate_missing",
            "Generate all &missing",
            ed(lambda e: e.generator.render_missing()),
            "Ctrl+Shift+G",
        )
    )
    m.addAction(
        act("generate_from", "&Regenerate from here", ed(lambda e: e.queue.render_from_current()))
    )
    m.addAction(act("cancel", "&Cancel generation", ed(lambda e: e.generator.cancel()), "Ctrl+."))

    m = mb.addMenu("&Help")
    m.addAction(
        act("diagnostics", "Collect &diagnostics…", win.collect_diagnostics, needs_editor=False)
    )
    return acts
