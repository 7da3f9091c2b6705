"""The scene inspector on a real project: every field persists to the file at once and undoes;
@element completion links elements; the start-image slot takes drops; takes are chosen here;
with nothing selected it edits the project's settings."""

from __future__ import annotations

from conftest import drop, file_mime, reopen, settle
from media_files import make_mp4
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.project import AddElement, AddScene, AddTake


def scene_in_inspector(qtbot, editor, **fields):  # type: ignore[no-untyped-def]
    sid = editor.doc.execute(AddScene(**fields))
    settle(qtbot)
    editor.timeline.select_scene(sid)
    settle(qtbot)
    return sid, editor.inspector.scene_form


def test_prompt_typed_in_the_inspector_is_saved_and_undoes(qtbot, editor, project_file):
    sid, form = scene_in_inspector(qtbot, editor, prompt="")
    assert editor.inspector.stack.currentWidget() is form
    form.prompt.setFocus()
    QTest.keyClicks(form.prompt, "a red ball rolls left")
    form.title.setFocus()  # leaving the field commits
    settle(qtbot)
    assert editor.doc.project.scene(sid).prompt == "a red ball rolls left"
    with reopen(project_file) as p:
        assert p.scene(sid).prompt == "a red ball rolls left"
    assert editor.doc.undo.stack.undoText() == "Edit scene"
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.scene(sid).prompt == ""
    assert form.prompt.toPlainText() == ""  # the view follows the file


def test_prompt_commits_after_a_pause_in_typing(qtbot, editor):
    sid, form = scene_in_inspector(qtbot, editor, prompt="")
    form.prompt.setFocus()
    QTest.keyClicks(form.prompt, "night falls")
    qtbot.waitUntil(lambda: editor.doc.project.scene(sid).prompt == "night falls", timeout=5000)


def test_at_completion_links_the_element(qtbot, editor):
    editor.doc.execute(AddElement(name="Mara"))
    editor.doc.execute(AddElement(name="Lantern", kind="prop"))
    sid, form = scene_in_inspector(qtbot, editor, prompt="")
    form.prompt.setFocus()
    QTest.keyClicks(form.prompt, "@Ma")
    popup = form.prompt._completer.popup()
    assert popup.isVisible()
    assert form.prompt._completer.currentCompletion() == "Mara"
    QTest.keyClick(popup, Qt.Key.Key_Return)
    QTest.keyClicks(form.prompt, "walks home")
    QTest.keyClick(form.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot)
    scene = editor.doc.project.scene(sid)
    assert scene.prompt == "@Mara walks home"
    assert scene.elements == ("Mara",)
    ticked = [
        form.elements.item(i).text()
        for i in range(form.elements.count())
        if form.elements.item(i).checkState() == Qt.CheckState.Checked
    ]
    assert ticked == ["Mara"]
    # ticking an element in the list links it too
    item = next(
        form.elements.item(i)
        for i in range(form.elements.count())
        if form.elements.item(i).text() == "Lantern"
    )
    item.setCheckState(Qt.CheckState.Checked)
    settle(qtbot)
    assert editor.doc.project.scene(sid).elements == ("Lantern", "Mara")


def test_duration_seed_and_carry_over_fields(qtbot, editor):
    editor.doc.execute(AddScene(prompt="first"))
    sid, form = scene_in_inspector(qtbot, editor, prompt="second", duration=4.0)
    form.duration.setFocus()
    form.duration.selectAll()
    QTest.keyClicks(form.duration, "2.5")
    QTest.keyClick(form.duration, Qt.Key.Key_Return)
    settle(qtbot)
    assert editor.doc.project.scene(sid).duration == 2.5
    assert editor.doc.project.scene(sid).seed is None
    form.seed_random.click()
    settle(qtbot)
    seed = editor.doc.project.scene(sid).seed
    assert seed is not None and form.seed_lock.isChecked() and form.seed.value() == seed
    form.seed_lock.setChecked(False)
    settle(qtbot)
    assert editor.doc.project.scene(sid).seed is None
    form.carry.setChecked(False)
    settle(qtbot)
    assert editor.doc.project.scene(sid).carry_over is False
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.scene(sid).carry_over is True and form.carry.isChecked()


def test_invalid_value_is_refused_in_place(qtbot, editor):
    sid, form = scene_in_inspector(qtbot, editor, prompt="x")
    form._edit(duration=-1.0)
    assert form.message.isVisible() and "duration" in form.message.text()
    assert editor.doc.project.scene(sid).duration == 4.0


def test_start_image_slot_takes_a_drop_and_clears(qtbot, editor, media):
    sid, form = scene_in_inspector(qtbot, editor, prompt="x")
    slot = form.image
    drop(slot, file_mime([media.png]), QPoint(20, 20))
    qtbot.waitUntil(lambda: editor.doc.project.scene(sid).image_asset_id is not None, timeout=10000)
    settle(qtbot, editor)
    assert slot.asset_id == editor.doc.project.scene(sid).image_asset_id
    slot.clear.click()
    settle(qtbot)
    assert editor.doc.project.scene(sid).image_asset_id is None


def test_takes_are_listed_and_chosen_in_the_inspector(qtbot, editor, tmp_path):
    sid, form = scene_in_inspector(qtbot, editor, prompt="x")
    t1 = editor.doc.project.execute(AddTake(sid, make_mp4(tmp_path / "a.mp4"), recipe={"seed": 1}))
    t2 = editor.doc.project.execute(
        AddTake(sid, make_mp4(tmp_path / "b.mp4", frames=4), recipe={"seed": 2}, choose=False)
    )
    settle(qtbot)
    takes = form.takes
    assert takes.list.count() == 2
    assert "★" in takes.list.item(0).text() and "seed 2" in takes.list.item(1).text()
    takes.list.setCurrentRow(1)
    assert takes.choose.isEnabled()
    takes.choose.click()
    settle(qtbot)
    assert editor.doc.project.scene(sid).chosen_take_id == t2
    assert "★" in takes.list.item(1).text()
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert editor.doc.project.scene(sid).chosen_take_id == t1
    asked = []
    form.sig_generate.connect(lambda s, n: asked.append((s, n)))
    takes.variations.menu().actions()[2].trigger()
    takes.another.click()
    assert asked == [(sid, 4), (sid, 1)]


def test_a_take_is_deleted_from_the_inspector_and_undo_brings_it_back(qtbot, editor, tmp_path):
    sid, form = scene_in_inspector(qtbot, editor, prompt="x")
    p = editor.doc.project
    t1 = p.execute(AddTake(sid, make_mp4(tmp_path / "a.mp4"), recipe={"seed": 1}))
    t2 = p.execute(AddTake(sid, make_mp4(tmp_path / "b.mp4", frames=4), recipe={"seed": 2}))
    settle(qtbot)
    takes = form.takes
    assert p.scene(sid).chosen_take_id == t2 and takes.list.count() == 2
    takes.list.setCurrentRow(1)  # the chosen one
    assert takes.delete.isEnabled()
    takes.delete.click()
    settle(qtbot)
    assert [t.id for t in p.takes(sid)] == [t1] and takes.list.count() == 1
    assert p.scene(sid).chosen_take_id == t1  # the newest remaining take is chosen instead
    takes.list.setCurrentRow(0)
    takes.list.setFocus()
    QTest.keyClick(takes.list, Qt.Key.Key_Delete)
    settle(qtbot)
    assert p.takes(sid) == [] and p.scene(sid).chosen_take_id is None
    editor.window.acts["undo"].trigger()
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert [t.id for t in p.takes(sid)] == [t1, t2] and p.scene(sid).chosen_take_id == t2
    assert takes.list.count() == 2


def test_scene_overrides_steps_and_guidance_and_undo(qtbot, editor):
    sid, form = scene_in_inspector(qtbot, editor, prompt="x")
    p = editor.doc.project
    assert form.steps.value() == 0 and form.steps.text() == "project default"
    form.steps.setValue(9)
    form.steps.editingFinished.emit()
    form.guidance.setValue(3.5)
    form.guidance.editingFinished.emit()
    settle(qtbot)
    assert p.scene(sid).generation == {"steps": 9, "guidance": 3.5}
    form.steps.setValue(0)  # back to the project's value
    form.steps.editingFinished.emit()
    settle(qtbot)
    assert p.scene(sid).generation == {"guidance": 3.5}
    editor.window.acts["undo"].trigger()
    settle(qtbot)
    assert p.scene(sid).generation == {"steps": 9, "guidance": 3.5} and form.steps.value() == 9


def test_project_settings_when_nothing_is_selected(qtbot, editor):
    editor.selection.set([])
    settle(qtbot)
    form = editor.inspector.project_form
    assert editor.inspector.stack.currentWidget() is form
    form.style_prompt.setFocus()
    QTest.keyClicks(form.style_prompt, "flat colours")
    form.title.setFocus()
    settle(qtbot)
    assert editor.doc.project.info().style_prompt == "flat colours"
    form.steps.setValue(12)
    form.steps.editingFinished.emit()
    settle(qtbot)
    assert editor.doc.project.info().generation == {"steps": 12}
    QApplication.processEvents()
