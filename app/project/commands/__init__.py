"""Every edit of a project, as a command object (see base.py for how they run and undo)."""

from .audio import AddAudioClip, EditAudioClip, EditAudioTrack, RemoveAudioClip
from .base import UNSET, Command, EditContext
from .elements import AddElement, EditElement, RemoveElement
from .scenes import AddScene, EditScene, MoveScene, RemoveScene
from .settings import EditSettings
from .takes import AddTake, ChooseTake, DeleteTake

__all__ = [
    "UNSET",
    "AddAudioClip",
    "AddElement",
    "AddScene",
    "AddTake",
    "ChooseTake",
    "DeleteTake",
    "Command",
    "EditAudioClip",
    "EditAudioTrack",
    "EditContext",
    "EditElement",
    "EditScene",
    "EditSettings",
    "MoveScene",
    "RemoveAudioClip",
    "RemoveElement",
    "RemoveScene",
]
