"""The other panels and the window on real projects: elements, media bin, preview, render queue
(interrupted jobs), export through app.render, preferences, recent files, locked and missing
files, the sample storyboard on first start, and a copy of the project."""

from __future__ import annotations

import av
import pytest
from conftest import drop, file_mime, settle
from media_files import make_mp4
from PySide6.QtCore import QPoint, Qt

from app.project import AddAudioClip, AddScene, AddTake, Project
from app.ui.main_window import MainWindow


def test_elements_panel_adds_renames_and_takes_reference_images(qtbot, editor, media):
    panel = editor.elements
    eid = panel.add_element()
    settle(qtbot)
    assert [e.name for e in editor.doc.project.elements()] == ["Element1"]
    panel.name.setText("Mara")
    panel.name.editingFinished.emit()
    settle(qtbot)
    assert editor.doc.project.elements()[0].name == "Mara"
    panel.kind.setCurrentText("prop")
    settle(qtbot)
    assert editor.doc.project.elements()[0].kind == "prop"
    item = panel.list.item(0)
    drop(
        panel.list.viewport(),
        file_mime([media.png, media.png2]),
        panel.list.visualItemRect(item).center(),
    )
    qtbot.waitUntil(
        lambda: len(editor.doc.project.elements()[0].image_asset_ids) == 2, timeout=10000
    )
    sid = editor.doc.execute(AddScene(prompt="@Mara waves"))
    settle(qtbot, editor)
    assert (
        panel.used_by.count() == 1 and panel.used_by.item(0).data(Qt.ItemDataRole.UserRole) == sid
    )
    mime = panel.list.mimeData([panel.list.item(0)])
    assert bytes(mime.data("application/x-storyloom-element").data()) == b"Mara"
    panel.remove_element()
    settle(qtbot)
    assert editor.doc.project.elements() == [] and editor.doc.project.scene(sid).elements == ()
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.elements()[0].id == eid


def test_media_bin_lists_and_filters_what_the_project_uses(qtbot, editor, media):
    editor.doc.execute(AddScene(prompt="a", image=media.png))
    editor.doc.execute(AddAudioClip(path=media.wav))
    settle(qtbot, editor)
    bin_ = editor.media
    assert bin_.list.count() == 2
    bin_.filter.setCurrentText("Audio")
    assert bin_.list.count() == 1 and "tone.wav" in bin_.list.item(0).text()
    bin_.filter.setCurrentText("All media")
    # media dragged from the bin onto the timeline makes a scene of it
    aid = editor.doc.project.scenes()[0].image_asset_id
    mime = bin_.list.mimeData([bin_.list.item(0)])
    view = editor.timeline
    end = view.mapFromScene(
        view.cards[editor.doc.project.scenes()[0].id].sceneBoundingRect().bottomRight()
    ) + QPoint(60, -20)
    drop(view.viewport(), mime, end)
    settle(qtbot)
    scenes = editor.doc.project.scenes()
    assert len(scenes) == 2 and scenes[1].image_asset_id == aid


def test_media_bin_keeps_what_an_earlier_session_imported(qtbot, editor, media, project_file):
    editor.media.import_paths([media.png2, media.wav])  # imported, used by nothing
    qtbot.waitUntil(lambda: editor.media.list.count() == 2, timeout=10000)
    window = editor.window
    window.close_project()
    assert window.open_path(project_file)
    settle(qtbot, window.editor)
    names = [
        window.editor.media.list.item(i).text() for i in range(window.editor.media.list.count())
    ]
    assert any("fox.png" in n for n in names) and any("tone.wav" in n for n in names)


def test_preview_decodes_the_take_at_the_play_head(qtbot, editor, tmp_path):
    sid = editor.doc.execute(AddScene(prompt="a", duration=1.0))
    editor.doc.execute(AddScene(prompt="b without a take", duration=1.0))
    editor.doc.execute(AddTake(sid, make_mp4(tmp_path / "t.mp4", frames=12, fps=12), recipe={}))
    settle(qtbot)
    player = editor.preview
    editor.transport.seek(0.5)
    qtbot.waitUntil(
        lambda: player.canvas.image is not None and not player.canvas.caption, timeout=10000
    )
    settle(qtbot, editor)
    editor.transport.seek(0.5)
    first = player.canvas.image.copy()
    editor.transport.step(3)
    assert player.canvas.image != first  # another frame of the clip
    editor.transport.seek(1.5)
    assert "no take yet" in player.canvas.caption
    player.mode.setCurrentText("Selected scene")
    editor.timeline.select_scene(sid)
    settle(qtbot)
    assert editor.transport.range == (0.0, 1.0)
    player.buttons["loop"].setChecked(True)
    editor.transport.play()
    qtbot.wait(1300)  # longer than the scene: looping keeps it playing
    assert editor.transport.playing and 0.0 <= editor.transport.position <= 1.0
    editor.transport.pause()


def test_interrupted_jobs_are_shown_on_open(qtbot, window, project_file):
    with Project.open(project_file) as p:
        sid = p.execute(AddScene(prompt="x"))
        job = p.create_job(sid, {"prompt": "x"})
        p.start_job(job)
    # the process "died" with the job running: the next open finds it
    assert window.open_path(project_file)
    queue = window.editor.queue
    settle(qtbot)
    assert queue.message.isVisible() and "interrupted" in queue.message.text()
    assert queue.tree.topLevelItem(0).text(1) == "interrupted"
    queue.tree.setCurrentItem(queue.tree.topLevelItem(0))
    assert queue.b_retry.isEnabled()
    assert window.editor.timeline.cards[sid].state.status == "failed"


def test_export_dialog_exports_on_a_worker(qtbot, editor, tmp_path):
    sid = editor.doc.execute(AddScene(prompt="a", duration=0.5))
    editor.doc.execute(AddTake(sid, make_mp4(tmp_path / "t.mp4", frames=6, fps=12), recipe={}))
    dialog = editor.window.export_dialog()
    out = tmp_path / "out" / "film.mp4"
    out.parent.mkdir()
    dialog.path.setText(str(out))
    dialog.preset.setCurrentIndex(dialog.preset.findData("draft"))
    dialog.start()
    assert not dialog.export_button.isEnabled()  # running, the window still responds
    qtbot.waitUntil(lambda: dialog.task is None, timeout=60000)
    assert dialog.result is not None, dialog.message.text()
    with av.open(str(out)) as box:
        assert box.streams.video and box.streams.video[0].codec_context.name == "h264"
    # a destination that cannot be written is reported in place
    dialog.path.setText(str(tmp_path / "missing" / "x.mp4"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=30000)
    assert dialog.message.isVisible() and dialog.message.level == "error"
    dialog.close()


def test_preferences_and_recent_files(qtbot, window, prefs, project_file):
    from app.ui.preferences.dialog import PreferencesDialog

    dialog = PreferencesDialog(prefs, window)
    dialog.remote.setChecked(True)
    dialog.url.setText("http://gpu-box:8765")
    dialog.token.setText("secret")
    dialog.accept()
    assert prefs.engine().mode == "remote" and prefs.engine().token == "secret"
    assert prefs.engine().make().url == "http://gpu-box:8765"
    assert window.open_path(project_file)
    window.close_project()
    assert prefs.recent()[0] == project_file.resolve()
    window._fill_recent()
    window.recent_menu.actions()[0].trigger()
    assert window.editor is not None and window.editor.doc.path == project_file


def test_a_project_open_elsewhere_is_refused_clearly(qtbot, window, project_file):
    with Project.open(project_file):
        assert not window.open_path(project_file)
    assert window.editor is None
    assert "open elsewhere" in window.welcome.message.text()
    assert not window.open_path(project_file.with_name("missing.storyloom"))
    assert "no such project" in window.welcome.message.text()


def test_first_start_opens_the_sample_storyboard(qtbot, window, tmp_path, monkeypatch):
    import app.ui.first_run as first_run

    target = tmp_path / "data" / "sample.storyloom"
    monkeypatch.setattr(first_run, "sample_path", lambda: target)
    window.open_initial(None)  # no file given, no recent project
    assert window.editor is not None and window.editor.doc.path == target
    doc = window.editor.doc
    assert len(doc.scenes()) == 4 and {e.name for e in doc.elements()} == {
        "Mara",
        "Lantern",
        "Forest",
    }
    assert [t.name for t in doc.project.audio_tracks()] == ["Music", "Effects"]


def test_save_a_copy_and_new_project(qtbot, window, project_file, tmp_path):
    assert window.open_path(project_file)
    window.editor.doc.execute(AddScene(prompt="kept in the copy"))
    copy = tmp_path / "copy.storyloom"
    window.copy_to(copy)
    qtbot.waitUntil(lambda: not window.workers.busy, timeout=10000)
    with Project.open(copy) as p:
        assert [s.prompt for s in p.scenes()] == ["kept in the copy"]
    assert window.create_project(tmp_path / "fresh")
    assert window.editor.doc.path == tmp_path / "fresh.storyloom"
    assert window.editor.doc.project.info().title == "fresh"


@pytest.mark.parametrize("argv", [["--help"]])
def test_python_m_app_help(argv, capsys):
    from app.__main__ import main

    assert main(argv) == 0
    assert "storyloom" in capsys.readouterr().out.lower()


def test_closing_the_window_keeps_every_edit(qtbot, prefs, project_file):
    w = MainWindow(prefs)
    qtbot.addWidget(w)
    assert w.open_path(project_file)
    sid = w.editor.doc.execute(AddScene(prompt=""))
    w.editor.timeline.select_scene(sid)
    settle(qtbot)
    form = w.editor.inspector.scene_form
    form.prompt.setPlainText("typed just before closing")
    w.close()
    with Project.open(project_file) as p:
        assert p.scene(sid).prompt == "typed just before closing"


def test_shipped_svg_icons_render_sharp_at_hidpi_sizes(qtbot, editor):
    from app.ui.first_run import resources_dir
    from app.ui.icons import icon

    names = sorted(p.stem for p in (resources_dir() / "icons").glob("*.svg"))
    assert {"play", "pause", "generate", "export", "storyloom"} <= set(names)
    for name in names:
        image = icon(name).pixmap(96, 96).toImage()  # 4x a 24 px icon: drawn from the SVG
        assert image.width() == 96 and not image.isNull(), name
        opaque = sum(
            image.pixelColor(x, y).alpha() > 0 for x in range(0, 96, 4) for y in range(0, 96, 4)
        )
        assert opaque > 20, f"{name} drew nothing"
    assert not editor.preview.buttons["play"].icon().isNull()
    assert not editor.window.acts["generate"].icon().isNull()
    assert icon("no-such-icon").isNull()
