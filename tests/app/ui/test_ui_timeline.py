"""The timeline on a real project: drops from the desktop, drag to reorder, edge resize,
selection, keyboard shortcuts, zoom; each edit is in the file at once and undoes."""

from __future__ import annotations

from pathlib import Path

from conftest import drop, file_mime, reopen, settle
from media_files import make_mp4, make_png
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.project import AddAudioClip, AddElement, AddScene, AddTake
from app.ui.timeline.dropping import MIME_ELEMENT
from app.ui.timeline.geometry import VIDEO_H


def video_lane_point(view, t: float) -> QPoint:  # type: ignore[no-untyped-def]
    return view.mapFromScene(QPointF(view.geo.x(t), view.geo.video_top + VIDEO_H / 2))


def audio_lane_point(view, t: float, lane: int) -> QPoint:  # type: ignore[no-untyped-def]
    return view.mapFromScene(QPointF(view.geo.x(t), view.geo.audio_top(lane) + 20))


def card_point(view, scene_id: int, dx: float = 0.0) -> QPoint:  # type: ignore[no-untyped-def]
    r = view.cards[scene_id].sceneBoundingRect()
    return view.mapFromScene(QPointF(r.center().x() + dx, r.center().y()))


def add_scenes(editor, *durations: float) -> list[int]:  # type: ignore[no-untyped-def]
    ids = [
        editor.doc.execute(AddScene(prompt=f"scene {i}", duration=d))
        for i, d in enumerate(durations)
    ]
    QApplication.processEvents()
    return ids


def test_image_dropped_on_empty_lane_makes_an_i2v_scene_that_undoes(
    qtbot, editor, media, project_file
):
    view = editor.timeline
    drop(view.viewport(), file_mime([media.png]), video_lane_point(view, 1.0))
    qtbot.waitUntil(lambda: len(editor.doc.project.scenes()) == 1, timeout=10000)
    scene = editor.doc.project.scenes()[0]
    assert scene.image_asset_id is not None and scene.chosen_take_id is None
    settle(qtbot, editor)
    assert scene.id in view.cards
    with reopen(project_file) as p:  # already in the file
        assert p.scenes()[0].image_asset_id == scene.image_asset_id
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.scenes() == [] and view.cards == {}
    editor.window.acts["redo"].trigger()
    settle(qtbot)
    assert [s.image_asset_id for s in editor.doc.project.scenes()] == [scene.image_asset_id]


def test_image_dropped_on_a_scene_becomes_its_start_image(qtbot, editor, media):
    a, b = add_scenes(editor, 2.0, 2.0)
    view = editor.timeline
    drop(view.viewport(), file_mime([media.png]), card_point(view, b))
    qtbot.waitUntil(lambda: editor.doc.project.scene(b).image_asset_id is not None, timeout=10000)
    assert editor.doc.project.scene(a).image_asset_id is None
    assert len(editor.doc.project.scenes()) == 2


def test_audio_dropped_on_a_lane_is_a_clip_at_that_time(qtbot, editor, media):
    add_scenes(editor, 4.0)
    view = editor.timeline
    drop(view.viewport(), file_mime([media.wav]), audio_lane_point(view, 1.5, 0))
    qtbot.waitUntil(lambda: any(t.clips for t in editor.doc.project.audio_tracks()), timeout=10000)
    (track,) = editor.doc.project.audio_tracks()
    assert track.name == "Audio 1"
    assert abs(track.clips[0].start - 1.5) < 8 / view.geo.pps  # within snapping distance
    settle(qtbot, editor)
    # a second file on the empty lane below makes a second track
    drop(view.viewport(), file_mime([media.wav]), audio_lane_point(view, 0.5, 1))
    qtbot.waitUntil(lambda: len(editor.doc.project.audio_tracks()) == 2, timeout=10000)
    assert editor.doc.project.audio_tracks()[1].name == "Audio 2"


def test_several_files_at_once_make_scenes_in_order_and_a_clip(qtbot, editor, media, tmp_path):
    mp4 = make_mp4(tmp_path / "walk.mp4", frames=12, fps=12)
    png2 = make_png(tmp_path / "second.png", color=(10, 200, 10))
    view = editor.timeline
    drop(view.viewport(), file_mime([media.png, mp4, png2, media.wav]), video_lane_point(view, 0.5))
    qtbot.waitUntil(lambda: len(editor.doc.project.scenes()) == 3, timeout=15000)
    first, video, third = editor.doc.project.scenes()
    assert first.image_asset_id is not None and third.image_asset_id is not None
    assert video.chosen_take_id is not None and abs(video.duration - 1.0) < 0.01
    assert editor.doc.project.audio_tracks()[0].clips
    assert editor.doc.undo.stack.undoText().startswith("Drop 4 files")
    editor.window.acts["undo"].trigger()  # one step for the whole drop
    settle(qtbot)
    assert editor.doc.project.scenes() == [] and not editor.doc.project.audio_tracks()


def test_a_file_that_cannot_be_decoded_is_reported_where_dropped_and_changes_nothing(
    qtbot, editor, media
):
    view = editor.timeline
    steps = editor.doc.undo.stack.count()
    drop(view.viewport(), file_mime([media.png, media.junk]), video_lane_point(view, 0.5))
    qtbot.waitUntil(
        lambda: view.last_message is not None and view.last_message[1] == "error", timeout=10000
    )
    assert "broken.png" in view.last_message[0]
    assert view._message.isVisible()
    settle(qtbot, editor)
    assert editor.doc.project.scenes() == [] and editor.doc.undo.stack.count() == steps
    # and a file of no known kind is refused before any work
    other = Path(media.png.parent / "notes.txt")
    other.write_text("hello")
    drop(view.viewport(), file_mime([other]), video_lane_point(view, 0.5))
    assert "notes.txt" in view.last_message[0]


def test_drag_a_card_to_reorder_and_undo(qtbot, editor):
    a, b, c = add_scenes(editor, 2.0, 2.0, 2.0)
    view = editor.timeline
    vp = view.viewport()
    start = card_point(view, a)
    end = video_lane_point(view, 5.5)  # over the middle of the third card's right half
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 6):
        QTest.mouseMove(vp, start + (end - start) * k / 5)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    settle(qtbot)
    assert [s.id for s in editor.doc.project.scenes()] == [b, c, a]
    assert editor.doc.undo.stack.undoText() == "Move scene"
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert [s.id for s in editor.doc.project.scenes()] == [a, b, c]


def test_drag_the_right_edge_to_change_duration(qtbot, editor):
    a, b = add_scenes(editor, 2.0, 2.0)
    view = editor.timeline
    view.set_pps(50)
    settle(qtbot)
    vp = view.viewport()
    card = view.cards[a]
    edge = view.mapFromScene(
        QPointF(card.sceneBoundingRect().right() - 3, card.sceneBoundingRect().center().y())
    )
    target = edge + QPoint(int(1.5 * 50), 0)  # +1.5 s
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, edge)
    QTest.mouseMove(vp, edge + QPoint(10, 0))
    QTest.mouseMove(vp, target)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    settle(qtbot)
    assert abs(editor.doc.project.scene(a).duration - 3.5) < 0.15
    assert editor.doc.project.scene(b).duration == 2.0
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.scene(a).duration == 2.0


def test_ctrl_click_selects_several_and_delete_removes_them(qtbot, editor):
    a, b, c = add_scenes(editor, 1.0, 1.0, 1.0)
    view = editor.timeline
    vp = view.viewport()
    QTest.mouseClick(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, card_point(view, a)
    )
    QTest.mouseClick(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, card_point(view, c)
    )
    settle(qtbot)
    assert editor.selection.scene_ids == (a, c)
    view.setFocus()
    QTest.keyClick(vp, Qt.Key.Key_Delete)
    settle(qtbot)
    assert [s.id for s in editor.doc.project.scenes()] == [b]
    QTest.keyClick(vp, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot)
    assert [s.id for s in editor.doc.project.scenes()] == [a, b, c]


def test_shortcuts_duplicate_split_fit_play(qtbot, editor):
    (a,) = add_scenes(editor, 4.0)
    view = editor.timeline
    vp = view.viewport()
    QTest.mouseClick(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, card_point(view, a)
    )
    view.setFocus()
    QTest.keyClick(vp, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot)
    scenes = editor.doc.project.scenes()
    assert len(scenes) == 2 and scenes[1].prompt == scenes[0].prompt and scenes[1].id != a
    editor.transport.seek(1.5)
    QTest.keyClick(vp, Qt.Key.Key_S)
    settle(qtbot)
    assert [s.duration for s in editor.doc.project.scenes()] == [1.5, 2.5, 4.0]
    view.set_pps(5)
    QTest.keyClick(vp, Qt.Key.Key_F)
    assert view.geo.pps > 5
    QTest.keyClick(vp, Qt.Key.Key_Space)
    assert editor.transport.playing
    QTest.keyClick(vp, Qt.Key.Key_K)
    assert not editor.transport.playing
    pos = editor.transport.position
    QTest.keyClick(vp, Qt.Key.Key_Right)
    assert abs(editor.transport.position - (round(pos * 24) + 1) / 24) < 1e-6
    QTest.keyClick(
        vp, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    QTest.keyClick(vp, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(vp, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot)
    assert [s.id for s in editor.doc.project.scenes()] == [a]


def test_ctrl_wheel_zooms_around_the_pointer(qtbot, editor):
    add_scenes(editor, 10.0)
    view = editor.timeline
    view.set_pps(40)
    at = QPointF(300, 60)
    t_before = view.geo.t(view.mapToScene(at.toPoint()).x())
    wheel = QWheelEvent(
        at,
        view.mapToGlobal(at.toPoint()).toPointF(),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.geo.pps > 40
    assert abs(view.geo.t(view.mapToScene(at.toPoint()).x()) - t_before) < 0.1


def test_element_dragged_onto_a_scene_joins_it(qtbot, editor):
    editor.doc.execute(AddElement(name="Mara"))
    (a,) = add_scenes(editor, 2.0)
    mime = QMimeData()
    mime.setData(MIME_ELEMENT, b"Mara")
    drop(editor.timeline.viewport(), mime, card_point(editor.timeline, a))
    settle(qtbot)
    assert editor.doc.project.scene(a).elements == ("Mara",)


def test_scene_cards_show_state_and_survive_undo_of_a_take(qtbot, editor, tmp_path):
    (a,) = add_scenes(editor, 1.0)
    assert editor.timeline.cards[a].state.status == "none"
    editor.doc.project.execute(AddTake(a, make_mp4(tmp_path / "t.mp4"), recipe={"seed": 3}))
    settle(qtbot)
    assert editor.timeline.cards[a].state.status == "done"
    assert (
        editor.doc.undo.stack.undoText() == "Add take"
    )  # a step made outside the stack is mirrored
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.scene(a).chosen_take_id is None
    assert editor.timeline.cards[a].state.status == "none"


def test_drag_an_audio_clip_later_and_onto_a_new_track(qtbot, editor, media):
    add_scenes(editor, 6.0)
    editor.doc.execute(AddAudioClip(path=media.wav, start=0.0))
    settle(qtbot)
    view = editor.timeline
    view.set_pps(50)
    settle(qtbot)
    (item,) = view.clips.values()
    start = view.mapFromScene(item.sceneBoundingRect().center())
    end = start + QPoint(100, int(view.geo.audio_top(1) - view.geo.audio_top(0)))  # +2 s, lane 2
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(10, 0))
    QTest.mouseMove(vp, end)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    settle(qtbot)
    tracks = editor.doc.project.audio_tracks()
    moved = tracks[1].clips[0]
    assert tracks[1].name == "Audio 2" and not tracks[0].clips
    assert abs(moved.start - 2.0) < 0.15
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.audio_tracks()[0].clips[0].start == 0.0


def test_rubber_band_selects_the_cards_it_covers(qtbot, editor):
    a, b, c = add_scenes(editor, 1.0, 1.0, 1.0)
    view = editor.timeline
    vp = view.viewport()
    y = int(view.mapFromScene(QPointF(0, view.geo.video_top + VIDEO_H + 3)).y())  # below the cards
    start = QPoint(int(view.mapFromScene(QPointF(view.geo.x(0.5), 0)).x()), y)
    end = QPoint(
        int(view.mapFromScene(QPointF(view.geo.x(1.5), 0)).x()), int(card_point(view, a).y())
    )
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 5):
        QTest.mouseMove(vp, start + (end - start) * k / 4)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    settle(qtbot)
    assert editor.selection.scene_ids == (a, b)


def _exported_film(tmp_path: Path) -> Path:
    """A real film exported by the `storyloom` command from a two-scene project."""
    from app.cli import main as storyloom

    src = tmp_path / "src.storyloom"
    assert (
        storyloom(["new", str(src), "--title", "Source", "--size", "320x180", "--fps", "12"]) == 0
    )
    assert (
        storyloom(["element", "add", str(src), "--name", "Mara", "--description", "striped"]) == 0
    )
    for prompt, dur, seed in (("@Mara walks in", "1.5", "11"), ("the forest at night", "1", "12")):
        assert (
            storyloom(
                [
                    "scene",
                    "add",
                    str(src),
                    "--prompt",
                    prompt,
                    "--duration",
                    dur,
                    "--seed",
                    seed,
                    "--elements",
                    "Mara",
                ]
            )
            == 0
        )
    out = tmp_path / "made-with-storyloom.mp4"
    assert storyloom(["export", str(src), "-o", str(out), "--preset", "draft", "-q"]) == 0
    return out


def _answer_next_dialog(qtbot, button_text: str) -> None:  # type: ignore[no-untyped-def]
    def click() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(20, click)
            return
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(20, click)


def test_an_exported_film_dropped_back_offers_to_restore_its_recipe(qtbot, editor, tmp_path):
    film = _exported_film(tmp_path)
    view = editor.timeline
    _answer_next_dialog(qtbot, "Restore recipe")
    drop(view.viewport(), file_mime([film]), video_lane_point(view, 0.5))
    qtbot.waitUntil(lambda: len(editor.doc.project.scenes()) == 2, timeout=20000)
    a, b = editor.doc.project.scenes()
    assert (a.prompt, a.duration, a.seed) == ("@Mara walks in", 1.5, 11)
    assert (b.prompt, b.duration, b.seed) == ("the forest at night", 1.0, 12)
    assert a.elements == ("Mara",) and [e.name for e in editor.doc.project.elements()] == ["Mara"]
    assert a.chosen_take_id is None  # restored to be generated again, not the film's pixels
    editor.window.acts["undo"].trigger()  # one step
    settle(qtbot)
    assert editor.doc.project.scenes() == [] and editor.doc.project.elements() == []
    # declining imports it as a plain video scene
    _answer_next_dialog(qtbot, "Import as video")
    drop(view.viewport(), file_mime([film]), video_lane_point(view, 0.5))
    qtbot.waitUntil(lambda: len(editor.doc.project.scenes()) == 1, timeout=20000)
    assert editor.doc.project.scenes()[0].chosen_take_id is not None


def test_j_l_shuttle_ctrl_e_export_and_the_history_view(qtbot, editor):
    (a,) = add_scenes(editor, 4.0)
    view, t = editor.timeline, editor.transport
    vp = view.viewport()
    view.setFocus()
    t.seek(2.0)
    QTest.keyClick(vp, Qt.Key.Key_L)
    assert t.playing and t.rate > 0
    first = t.rate
    QTest.keyClick(vp, Qt.Key.Key_L)  # faster on each press
    assert t.rate > first
    QTest.keyClick(vp, Qt.Key.Key_J)  # the other way
    assert t.playing and t.rate < 0
    QTest.keyClick(vp, Qt.Key.Key_K)
    assert not t.playing
    # the history view lists every edit, and clicking an older entry undoes back to it
    editor.doc.execute(AddScene(prompt="second"))
    settle(qtbot)
    model = editor.history.model()
    labels = [model.index(i, 0).data() for i in range(model.rowCount())]
    assert labels[0] == "<opened>" and labels[-2:] == ["Add scene", "Add scene"]
    editor.history.setCurrentIndex(model.index(model.rowCount() - 2, 0))
    settle(qtbot)
    assert [s.id for s in editor.doc.project.scenes()] == [a]
    # Ctrl+E opens the export dialog
    QTest.keyClick(vp, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    from app.ui.export.dialog import ExportDialog

    qtbot.waitUntil(lambda: editor.window.findChild(ExportDialog) is not None, timeout=5000)
    dialog = editor.window.findChild(ExportDialog)
    assert dialog.isVisible()
    dialog.close()
