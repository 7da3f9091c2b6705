"""The dark theme: a Fusion palette, a small style sheet, and the colours the timeline and the
preview paint with (one place, so every panel agrees)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BG = QColor(30, 32, 36)
BG_ALT = QColor(38, 41, 46)
PANEL = QColor(44, 47, 53)
LANE = QColor(36, 39, 44)
LANE_ALT = QColor(33, 35, 40)
CARD = QColor(58, 63, 72)
CARD_EMPTY = QColor(48, 52, 60)
TEXT = QColor(225, 228, 232)
TEXT_DIM = QColor(150, 156, 166)
ACCENT = QColor(94, 158, 255)
PLAYHEAD = QColor(255, 82, 82)
AUDIO = QColor(46, 122, 96)
AUDIO_WAVE = QColor(140, 220, 180)
SNAP = QColor(255, 210, 80)
ERROR = QColor(232, 93, 93)
ERROR_BG = QColor(88, 36, 40)
INFO_BG = QColor(36, 60, 92)

BADGE = {
    "none": QColor(110, 116, 128),
    "queued": QColor(214, 160, 54),
    "rendering": QColor(74, 140, 240),
    "done": QColor(70, 170, 110),
    "failed": ERROR,
}

STYLE_SHEET = """
QToolTip { color: #e1e4e8; background: #2c2f35; border: 1px solid #555; }
QDockWidget::title { background: #2c2f35; padding: 4px 6px; }
QGroupBox { border: 1px solid #444a54; border-radius: 4px; margin-top: 10px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; color: #9aa3b0; }
QLabel#InlineMessage[level="error"] { background: #582428; color: #ffd7d7;
    border: 1px solid #a04048; border-radius: 4px; padding: 4px 8px; }
QLabel#InlineMessage[level="info"] { background: #243c5c; color: #d7e6ff;
    border: 1px solid #3f6aa0; border-radius: 4px; padding: 4px 8px; }
QLabel#Placeholder { color: #8a919c; font-size: 15px; }
QPushButton { padding: 4px 10px; }
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    p.setColor(QPalette.ColorRole.Window, PANEL)
    p.setColor(QPalette.ColorRole.WindowText, TEXT)
    p.setColor(QPalette.ColorRole.Base, BG)
    p.setColor(QPalette.ColorRole.AlternateBase, BG_ALT)
    p.setColor(QPalette.ColorRole.ToolTipBase, PANEL)
    p.setColor(QPalette.ColorRole.ToolTipText, TEXT)
    p.setColor(QPalette.ColorRole.Text, TEXT)
    p.setColor(QPalette.ColorRole.Button, QColor(56, 60, 67))
    p.setColor(QPalette.ColorRole.ButtonText, TEXT)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Highlight, ACCENT)
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, ACCENT)
    p.setColor(QPalette.ColorRole.PlaceholderText, TEXT_DIM)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 114, 122))
    app.setPalette(p)
    app.setStyleSheet(STYLE_SHEET)
