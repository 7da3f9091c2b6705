"""The editor's actions as edits of the project (action -> command): each is one undo step,
several commands grouped where an action needs them. Views call these; none of them touches
widgets."""

from __future__ import annotations

from app.project import (
    AddAudioClip,
    AddElement,
    AddScene,
    AddTake,
    EditScene,
    MoveScene,
    Project,
    RemoveAudioClip,
    RemoveScene,
    SceneView,
)
from app.render.provenance import restorable

from .document import ProjectDocument
from .media_import import Imported
from .timeline.layout import moves_for, reorder

DEFAULT_DURATION = 4.0
MIN_DURATION = 0.1


def _copy_of(s: SceneView, at: int, duration: float | None = None) -> AddScene:
    return AddScene(
        prompt=s.prompt,
        duration=duration if duration is not None else s.duration,
        image_asset_id=s.image_asset_id,
        seed=s.seed,
        at=at,
        elements=list(s.elements),
        title=s.title,
        negative_prompt=s.negative_prompt,
        carry_over=s.carry_over,
        carry_over_strength=s.carry_over_strength,
        generation=dict(s.generation),
    )


def add_scene(doc: ProjectDocument, at: int | None = None, prompt: str = "") -> int:
    return doc.execute(AddScene(prompt=prompt, duration=DEFAULT_DURATION, at=at))


def remove_scenes(doc: ProjectDocument, ids: list[int]) -> None:
    if not ids:
        return

    def fn(p: Project) -> None:
        for sid in ids:
            p.execute(RemoveScene(sid))

    doc.group("Delete scene" if len(ids) == 1 else f"Delete {len(ids)} scenes", fn)


def remove_clips(doc: ProjectDocument, ids: list[int]) -> None:
    if ids:
        doc.group(
            "Delete audio clip",
            lambda p: [p.execute(RemoveAudioClip(cid)) for cid in ids],
        )


def duplicate_scenes(doc: ProjectDocument, ids: list[int]) -> list[int]:
    """Each copy goes right after its original, with the original's chosen take."""
    if not ids:
        return []
    by_id = {s.id: s for s in doc.scenes()}
    chosen = sorted((by_id[i] for i in ids if i in by_id), key=lambda s: s.position)

    def fn(p: Project) -> list[int]:
        new = []
        for shift, s in enumerate(chosen):
            sid = p.execute(_copy_of(s, s.position + 1 + shift))
            if s.chosen_take_id is not None:
                take = p.take(s.chosen_take_id)
                p.execute(AddTake(sid, asset_id=take.asset_id, recipe=take.recipe, seed=take.seed))
            new.append(sid)
        return new

    return doc.group("Duplicate scene", fn)


def split_scene(doc: ProjectDocument, scene_id: int, offset: float) -> int | None:
    """Cut a scene at `offset` seconds into it: the second part continues the first (carry-over
    on). Returns the new scene's id, or None when the cut is too near an end."""
    s = doc.scene(scene_id)
    if s is None or offset < MIN_DURATION or s.duration - offset < MIN_DURATION:
        return None

    def fn(p: Project) -> int:
        p.execute(EditScene(scene_id, duration=round(offset, 3)))
        second = _copy_of(s, s.position + 1, round(s.duration - offset, 3))
        second.carry_over = True
        return p.execute(second)

    return doc.group("Split scene", fn)


def move_scenes(doc: ProjectDocument, ids: list[int], to: int) -> bool:
    """Move the scenes (as a block, in their order) to index `to` of the current order."""
    order = [s.id for s in doc.scenes()]
    target = reorder(order, [i for i in order if i in set(ids)], to)
    steps = moves_for(order, target)
    if not steps:
        return False
    label = "Move scene" if len(ids) == 1 else f"Move {len(ids)} scenes"
    doc.group(label, lambda p: [p.execute(MoveScene(sid, idx)) for sid, idx in steps])
    return True


def set_duration(doc: ProjectDocument, scene_id: int, duration: float) -> None:
    doc.execute(EditScene(scene_id, duration=round(max(MIN_DURATION, duration), 3)))


# ---- dropped media ----------------------------------------------------------------------------


def _scene_for(p: Project, item: Imported, at: int) -> int:
    """A new scene from an image (image-to-video) or a video (the video is its take)."""
    if item.kind == "image":
        return p.execute(
            AddScene(prompt="", duration=DEFAULT_DURATION, image_asset_id=item.asset_id, at=at)
        )
    duration = round(item.duration or DEFAULT_DURATION, 3)
    sid = p.execute(AddScene(prompt=item.path.stem.replace("_", " "), duration=duration, at=at))
    p.execute(AddTake(sid, asset_id=item.asset_id, recipe={"imported": item.path.name}))
    return sid


def _restore(p: Project, item: Imported, at: int) -> int:
    """The scenes a Storyloom clip's or film's recipe describes, from `at`; a single clip keeps
    its video as the take with its own recipe. Missing elements are created (no images: the
    recipe names them, it does not carry them). Returns how many scenes were made."""
    assert item.recipe is not None
    scenes, elements = restorable(item.recipe)
    have = {e.name.lower() for e in p.elements()}
    for e in elements:
        if e["name"].lower() not in have:
            p.execute(AddElement(name=e["name"], kind=e["kind"], description=e["description"]))
            have.add(e["name"].lower())
    for k, s in enumerate(scenes):
        for name in s.elements:  # a scene may name an element the recipe's list lacks
            if name.lower() not in have:
                p.execute(AddElement(name=name))
                have.add(name.lower())
        sid = p.execute(
            AddScene(
                prompt=s.prompt,
                duration=s.duration,
                seed=s.seed,
                at=at + k,
                elements=list(s.elements),
                title=s.title,
                negative_prompt=s.negative_prompt,
                carry_over=s.carry_over,
            )
        )
        if "take_recipe" in item.recipe:
            p.execute(AddTake(sid, asset_id=item.asset_id, recipe=item.recipe["take_recipe"]))
    return len(scenes)


def can_restore(item: Imported) -> bool:
    return item.kind == "video" and item.recipe is not None and bool(restorable(item.recipe)[0])


def drop_media(
    doc: ProjectDocument,
    items: list[Imported],
    at_index: int,
    at_time: float,
    track: str,
    onto_scene: int | None = None,
    restore: bool = False,
) -> None:
    """Place dropped media as one undo step: images and videos become scenes from `at_index`
    (or, dropped on a scene, its start image / a take of it), audio becomes clips on `track`
    one after another from `at_time`. With `restore`, a Storyloom clip or film becomes the
    scenes of its recipe instead."""
    label = f"Drop {len(items)} files" if len(items) > 1 else f"Drop {items[0].path.name}"

    def fn(p: Project) -> None:
        index, t = at_index, at_time
        for item in items:
            if restore and onto_scene is None and can_restore(item):
                index += _restore(p, item, index)
            elif item.kind == "audio":
                p.execute(AddAudioClip(asset_id=item.asset_id, track=track, start=round(t, 3)))
                t += item.duration or 0.0
            elif onto_scene is not None and item.kind == "image":
                p.execute(EditScene(onto_scene, image_asset_id=item.asset_id))
            elif onto_scene is not None and item.kind == "video":
                p.execute(
                    AddTake(onto_scene, asset_id=item.asset_id, recipe={"imported": item.path.name})
                )
            else:
                _scene_for(p, item, index)
                index += 1

    doc.group(label, fn)


def add_element_to_scene(doc: ProjectDocument, scene_id: int, name: str) -> None:
    s = doc.scene(scene_id)
    if s is not None and name.lower() not in {e.lower() for e in s.elements}:
        doc.execute(EditScene(scene_id, elements=[*s.elements, name]))
