"""Errors a user can meet. Each message is one line that says what went wrong and with which file;
the CLI prints it and exits 2, the editor shows it in place."""

from __future__ import annotations


class StoryloomError(Exception):
    """Base of every user-facing error in the application (other layers subclass it too)."""


class ProjectError(StoryloomError):
    """Something is wrong with a project file or with an edit asked of it."""


class NotAProjectError(ProjectError):
    """The file is missing, is not a Storyloom project, or is corrupt."""


class ProjectTooNewError(ProjectError):
    """The project was written by a newer Storyloom than this one."""


class ProjectLockedError(ProjectError):
    """Another running Storyloom has the project open."""


class ReadOnlyError(ProjectError):
    """The project file or its folder cannot be written."""


class MediaError(ProjectError):
    """An imported image, video or audio file cannot be read or decoded."""


class NotFoundError(ProjectError):
    """An unknown scene, element, take, track or job was named."""


class InvalidValueError(ProjectError):
    """A value given for an edit is out of range or malformed."""
