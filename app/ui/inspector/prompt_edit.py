"""The prompt editor: multi-line, `@Element` completion from the project's elements (as LTX
Studio links elements by name), mentions coloured, and an edit committed when the writer pauses,
leaves the field or presses Ctrl+Return; each commit is one undo step."""

from __future__ import annotations

import re

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QCompleter, QPlainTextEdit, QWidget

from .. import theme

MENTION = re.compile(r"@([\w][\w-]*)")
TYPING = re.compile(r"@([\w-]*)$")
IDLE_COMMIT_MS = 1200


class MentionHighlighter(QSyntaxHighlighter):
    def __init__(self, document, names: set[str]) -> None:  # type: ignore[no-untyped-def]
        super().__init__(document)
        self.names = names

    def highlightBlock(self, text: str) -> None:
        known, unknown = QTextCharFormat(), QTextCharFormat()
        known.setForeground(theme.ACCENT)
        known.setFontWeight(700)
        unknown.setForeground(theme.TEXT_DIM)
        for m in MENTION.finditer(text):
            fmt = known if m.group(1).lower() in self.names else unknown
            self.setFormat(m.start(), m.end() - m.start(), fmt)


class PromptEdit(QPlainTextEdit):
    sig_committed = Signal(str)

    def __init__(self, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self._names = QStringListModel(self)
        self._completer = QCompleter(self._names, self)
        self._completer.setWidget(self)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._completer.activated.connect(self.insert_completion)
        self._highlighter = MentionHighlighter(self.document(), set())
        self._committed = ""
        self._idle = QTimer(self, singleShot=True, interval=IDLE_COMMIT_MS)
        self._idle.timeout.connect(self.commit)
        self.textChanged.connect(self._typed)
        self._setting = False

    # ---- model -> view ------------------------------------------------------------------------

    def set_names(self, names: list[str]) -> None:
        self._names.setStringList(names)
        self._highlighter.names = {n.lower() for n in names}
        self._highlighter.rehighlight()

    def set_text(self, text: str) -> None:
        """Show the stored prompt (kept as it is while the writer has unsaved typing)."""
        if self.dirty:
            return
        if text != self.toPlainText():
            self._setting = True
            self.setPlainText(text)
            self._setting = False
        self._committed = text

    @property
    def dirty(self) -> bool:
        return self.toPlainText() != self._committed

    # ---- view -> model ------------------------------------------------------------------------

    def _typed(self) -> None:
        if not self._setting:
            self._idle.start()

    def commit(self) -> None:
        self._idle.stop()
        if self.dirty:
            self._committed = self.toPlainText()
            self.sig_committed.emit(self._committed)

    def focusOutEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if not self._completer.popup().isVisible():
            self.commit()
        super().focusOutEvent(event)

    # ---- @ completion -------------------------------------------------------------------------

    def typed_mention(self) -> str | None:
        cursor = self.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        m = TYPING.search(before)
        return m.group(1) if m else None

    def insert_completion(self, name: str) -> None:
        prefix = self.typed_mention()
        cursor = self.textCursor()
        if prefix is not None:
            cursor.movePosition(
                QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix)
            )
        cursor.insertText(name + " ")
        self.setTextCursor(cursor)
        self._completer.popup().hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self._completer.popup()
        if popup.isVisible() and event.key() in (
            Qt.Key.Key_Enter,
            Qt.Key.Key_Return,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab,
        ):
            event.ignore()  # the completer's popup takes these
            return
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.commit()
            return
        super().keyPressEvent(event)
        prefix = self.typed_mention()
        if prefix is None or not self._names.stringList():
            popup.hide()
            return
        self._completer.setCompletionPrefix(prefix)
        if self._completer.completionCount() == 0:
            popup.hide()
            return
        popup.setCurrentIndex(self._completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(
            popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 16
        )
        self._completer.complete(rect)
