"""Background work for the editor (after Orange3's ConcurrentWidgetMixin): a task runs a plain
function on a pool thread and reports progress, partial results, its result, or a one-line error
back on the GUI thread; `cancel()` sets a flag the function checks. Nothing long runs on the GUI
thread."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal

from app.project import StoryloomError


class TaskCancelled(Exception):
    """Raised by a task's function when it notices `state.cancelled` (ends it quietly)."""


class TaskState(QObject):
    """What a running task and the GUI share. Signals are emitted on the worker thread and
    delivered on the GUI thread (the state object lives there)."""

    sig_progress = Signal(float)  # 0..1
    sig_partial = Signal(object)
    sig_done = Signal(object)
    sig_failed = Signal(str)  # one line a user can read
    sig_cancelled = Signal()
    sig_finished = Signal()  # after any of the three above

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self.done = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Call between units of work: stops the task when cancel was asked."""
        if self._cancel.is_set():
            raise TaskCancelled

    def set_progress(self, value: float) -> None:
        self.sig_progress.emit(float(value))

    def set_partial(self, value: Any) -> None:
        self.sig_partial.emit(value)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[TaskState], Any], state: TaskState) -> None:
        super().__init__()
        self.fn, self.state = fn, state
        self.setAutoDelete(True)

    def run(self) -> None:
        st = self.state
        try:
            result = self.fn(st)
        except TaskCancelled:
            st.sig_cancelled.emit()
        except StoryloomError as e:
            st.sig_failed.emit(str(e))
        except Exception as e:  # an unexpected bug: still one line in place, details on stderr
            traceback.print_exc()
            st.sig_failed.emit(f"{type(e).__name__}: {e}")
        else:
            if st.cancelled:
                st.sig_cancelled.emit()
            else:
                st.sig_done.emit(result)
        finally:
            st.done.set()
            st.sig_finished.emit()


class Workers(QObject):
    """A pool of worker threads; keeps each task's state alive until it has finished."""

    def __init__(self, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._live: set[TaskState] = set()

    def start(
        self,
        fn: Callable[[TaskState], Any],
        on_done: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[float], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> TaskState:
        st = TaskState(self)
        queued = Qt.ConnectionType.QueuedConnection
        for sig, slot in (
            (st.sig_done, on_done),
            (st.sig_failed, on_failed),
            (st.sig_progress, on_progress),
            (st.sig_partial, on_partial),
            (st.sig_cancelled, on_cancelled),
        ):
            if slot is not None:
                sig.connect(slot, queued)
        st.sig_finished.connect(lambda: self._forget(st), queued)
        self._live.add(st)
        self._pool.start(_Runnable(fn, st))
        return st

    def _forget(self, st: TaskState) -> None:
        self._live.discard(st)
        st.deleteLater()

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def cancel_all(self) -> None:
        for st in list(self._live):
            st.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task has finished (closing the window, tests)."""
        return self._pool.waitForDone(msecs)
