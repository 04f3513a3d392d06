"""Noticing that the open store file changed on disk.

QEMU rewrites its JSON store in place whenever the guest writes a variable, so a change
may be seen half-written: the watcher waits a moment, reads the file, and retries until
it decodes (or gives up and says why). Atomic replaces (ours, an editor's) remove the
watched inode; the watch is put back on the new file. Content equal to what the
document last read or wrote (compared by digest) is not a change.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from ..errors import DecodeError, UefiVarsError
from .document import LoadedFile, load_file, run_in_background


class FileWatcher(QObject):
    """Watches one file; emits :attr:`changed` with the decoded new content."""

    #: The file has new content that decodes (a :class:`LoadedFile`).
    changed = Signal(object)
    #: The file changed but could not be read or decoded after retrying (the reason).
    unreadable = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        settle_ms: int = 150,
        retry_ms: int = 200,
        max_attempts: int = 25,
    ) -> None:
        super().__init__(parent)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_file_changed)
        self._path: Path | None = None
        self._known: str | None = None
        self._paused = False
        self._attempts = 0
        self._max_attempts = max_attempts
        self._retry_ms = retry_ms
        self._settle_ms = settle_ms
        self._reading = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(settle_ms)
        self._timer.timeout.connect(self._check)

    @property
    def path(self) -> Path | None:
        return self._path

    def watch(self, path: Path | None, known_digest: str | None) -> None:
        """Watch ``path`` (None: nothing), whose current content has ``known_digest``."""
        self._timer.stop()
        if self._watcher.files():
            self._watcher.removePaths(self._watcher.files())
        self._path = Path(path) if path is not None else None
        self._known = known_digest
        self._paused = False
        self._attempts = 0
        self._rewatch()

    def set_known(self, digest: str | None) -> None:
        """The file's content is now ``digest`` (we just read or wrote it)."""
        self._known = digest

    def pause(self) -> None:
        """Ignore changes (while we write the file ourselves)."""
        self._paused = True
        self._timer.stop()

    def resume(self, known_digest: str | None) -> None:
        self._known = known_digest
        self._paused = False
        self._rewatch()

    def check_now(self) -> None:
        """Look at the file at once (e.g. a save found it changed before we noticed)."""
        self._attempts = 0
        self._paused = False
        self._timer.start(0)

    def _rewatch(self) -> None:
        if self._path is None:
            return
        name = os.fspath(self._path)
        if name in self._watcher.files():
            return
        if self._path.exists():
            self._watcher.addPath(name)
        else:  # between an unlink and a rename: look again shortly
            self._timer.start()

    def _on_file_changed(self, _name: str) -> None:
        self._rewatch()
        if self._paused:
            return
        self._attempts = 0
        self._timer.start(self._settle_ms)

    def _check(self) -> None:
        if self._paused or self._path is None:
            return
        self._rewatch()
        if not self._path.exists():
            self._retry("the file was removed")
            return
        if self._reading:
            self._timer.start()
            return
        self._reading = True
        path = self._path
        run_in_background(lambda: load_file(path), self._on_loaded, self._on_failed)

    def _on_loaded(self, loaded: LoadedFile) -> None:
        self._reading = False
        if self._paused or loaded.path != self._path:
            return
        if loaded.digest == self._known:
            return
        self._known = loaded.digest
        self.changed.emit(loaded)

    def _on_failed(self, exc: BaseException) -> None:
        self._reading = False
        if self._paused:
            return
        if isinstance(exc, UefiVarsError | DecodeError):
            self._retry(str(exc))
        else:
            raise exc

    def _retry(self, reason: str) -> None:
        self._attempts += 1
        if self._attempts >= self._max_attempts:
            self._attempts = 0
            self.unreadable.emit(reason)
            return
        self._timer.start(self._retry_ms)
