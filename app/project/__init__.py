"""The project file: one SQLite file per storyboard (no Qt, no torch).

with Project.open("film.storyloom") as p:
    sid = p.execute(AddScene(prompt="@Mara walks in the rain", duration=4))
    p.undo(); p.redo()
"""

from .commands import (
    UNSET,
    AddAudioClip,
    AddElement,
    AddScene,
    AddTake,
    ChooseTake,
    Command,
    DeleteTake,
    EditAudioClip,
    EditAudioTrack,
    EditElement,
    EditScene,
    EditSettings,
    MoveScene,
    RemoveAudioClip,
    RemoveElement,
    RemoveScene,
)
from .errors import (
    MediaError,
    NotAProjectError,
    NotFoundError,
    ProjectError,
    ProjectLockedError,
    ProjectTooNewError,
    ReadOnlyError,
    StoryloomError,
)
from .media import MediaInfo
from .project import Project, TimelineEntry
from .schema import SCHEMA_VERSION
from .views import (
    AssetView,
    AudioClipView,
    AudioTrackView,
    Change,
    ElementView,
    JobView,
    ProjectInfo,
    SceneView,
    TakeView,
)

__all__ = [
    "SCHEMA_VERSION",
    "UNSET",
    "AddAudioClip",
    "AddElement",
    "AddScene",
    "AddTake",
    "AssetView",
    "AudioClipView",
    "AudioTrackView",
    "Change",
    "ChooseTake",
    "DeleteTake",
    "Command",
    "EditAudioClip",
    "EditAudioTrack",
    "EditElement",
    "EditScene",
    "EditSettings",
    "ElementView",
    "JobView",
    "MediaError",
    "MediaInfo",
    "MoveScene",
    "NotAProjectError",
    "NotFoundError",
    "Project",
    "ProjectError",
    "ProjectInfo",
    "ProjectLockedError",
    "ProjectTooNewError",
    "ReadOnlyError",
    "RemoveAudioClip",
    "RemoveElement",
    "RemoveScene",
    "SceneView",
    "StoryloomError",
    "TakeView",
    "TimelineEntry",
]
