"""The Secure Boot page: the state of the open store at a glance, and the key-management
actions (enroll, generate keys, sign, verify / apply, the Microsoft 2023 rollover).

At a glance: the state :func:`..ops.sbstate.secure_boot_overview` works out (mode,
Secure Boot on/off, the entries of PK, KEK, db, dbx and dbt with expiry warnings),
refreshed whenever the document changes.

Every change to the store is previewed in a dialog (:mod:`.enrolldialogs`, computed by
the ops verbs on a copy) and then pushed onto the document's undo stack as one command.
Long work (verification, applying, key generation) runs off the UI thread with a busy
indicator; results arrive by signal.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QShowEvent, QUndoCommand
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ..core import guid as g
from ..core.variable import Variable, VariableKey
from ..errors import UefiVarsError
from ..ops.keygen import GeneratedKey
from ..ops.sbstate import DATABASES, Health, KeyEntry, SecureBootOverview, secure_boot_overview
from ..ops.signing import SignedUpdate
from ..ops.verify import StoreChange, UpdateVerdict
from .commands import BulkCommand, InsertVariableCommand, RemoveVariableCommand, ReplaceVariableCommand
from .document import Document, run_in_background
from .enrolldialogs import (
    Clock,
    EnrollDialog,
    KeygenDialog,
    RolloverDialog,
    SignDialog,
    VerifyDialog,
    now_utc,
)
from .widgets import DISPLAY, RowTableModel, action_button, flat_view

# --- the entry table -------------------------------------------------------------------------------------


class KeyColumn(IntEnum):
    DATABASE = 0
    TYPE = 1
    NAME = 2
    OWNER = 3
    VALID_UNTIL = 4
    STATUS = 5


_HEADERS = {
    KeyColumn.DATABASE: "Variable",
    KeyColumn.TYPE: "Type",
    KeyColumn.NAME: "Certificate / hash",
    KeyColumn.OWNER: "Owner",
    KeyColumn.VALID_UNTIL: "Valid until",
    KeyColumn.STATUS: "Status",
}


class KeyEntryModel(RowTableModel[KeyEntry, KeyColumn]):
    """One row per entry of PK, KEK, db, dbx and dbt."""

    def __init__(self, icons: dict[Health, QIcon] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(KeyColumn, _HEADERS, parent)
        self._icons = icons or {}

    def set_entries(self, entries: tuple[KeyEntry, ...]) -> None:
        self.set_rows(entries)

    def entry(self, row: int) -> KeyEntry:
        return self.row_item(row)

    def cell(self, row: int, column: KeyColumn, role: int) -> object:
        entry = self.row_item(row)
        if role == DISPLAY:
            if column is KeyColumn.DATABASE:
                return entry.database
            if column is KeyColumn.TYPE:
                return entry.kind
            if column is KeyColumn.NAME:
                return entry.name if entry.kind == "X.509" else f"{entry.name[:16]}…"
            if column is KeyColumn.OWNER:
                return g.guid_label(entry.owner)
            if column is KeyColumn.VALID_UNTIL:
                return f"{entry.not_after:%Y-%m-%d}" if entry.not_after is not None else ""
            return entry.status
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is KeyColumn.NAME:
                return entry.name
            if column is KeyColumn.OWNER:
                return str(entry.owner)
            if column is KeyColumn.STATUS and entry.status:
                return f"{entry.status} (firmware ignores certificate dates; new images are signed by current CAs)"
            return None
        if (
            role == Qt.ItemDataRole.DecorationRole
            and column is KeyColumn.STATUS
            and entry.health is not Health.OK
        ):
            return self._icons.get(entry.health)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and entry.status:
            return entry.status
        return None


# --- pushing changes onto the document ------------------------------------------------------------------


def push_changes(
    document: Document, changes: list[tuple[VariableKey | None, Variable | None]], text: str
) -> int:
    """Push (old key or None, new variable or None) pairs as ONE undoable command:
    replacements keep their position, new variables go last, ``None`` deletes."""
    store = document.store
    replacements = [
        (key, new) for key, new in changes if key is not None and new is not None and key in store
    ]
    inserts = [new for key, new in changes if new is not None and (key is None or key not in store)]
    removals = [key for key, new in changes if new is None and key is not None and key in store]
    commands: list[QUndoCommand] = [
        ReplaceVariableCommand(document, key, new, text)
        for key, new in replacements
        if store.get(*key) != new
    ]
    row = len(store)
    for new in inserts:
        commands.append(InsertVariableCommand(document, row, new))
        row += 1
    commands.extend(RemoveVariableCommand(document, key) for key in removals)
    if not commands:
        return 0
    document.undo_stack.push(BulkCommand(document, text, commands))
    return len(commands)


def verdict_changes(changes: tuple[StoreChange, ...]) -> list[tuple[VariableKey | None, Variable | None]]:
    return [(change.key if change.before is not None else None, change.after) for change in changes]


# --- the page ------------------------------------------------------------------------------------------------


class SecureBootPage(QWidget):
    """The Secure Boot state of the open store and the key-management actions."""

    #: A status-bar message.
    message = Signal(str)
    #: The state shown was recomputed (the SecureBootOverview).
    overview_changed = Signal(object)
    #: Background work started (True) or finished (False).
    busy_changed = Signal(bool)
    #: Keys were generated (the GeneratedKey).
    keys_generated = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, clock: Clock = now_utc) -> None:
        super().__init__(parent)
        self.setAccessibleName("Secure Boot page")
        self.clock = clock
        self._document: Document | None = None
        self._busy = 0
        self._dirty = False
        self.overview: SecureBootOverview | None = None
        style = self.style()
        self.model = KeyEntryModel(
            {
                Health.EXPIRED: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                Health.SOON: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            },
            self,
        )

        state = QGroupBox("State", self)
        state.setAccessibleName("Secure Boot state")
        self.mode_label = QLabel(state)
        self.mode_label.setAccessibleName("Mode")
        self.secure_boot_label = QLabel(state)
        self.secure_boot_label.setAccessibleName("Secure Boot")
        bold = self.mode_label.font()
        bold.setBold(True)
        self.mode_label.setFont(bold)
        self.secure_boot_label.setFont(bold)
        self.database_labels: dict[str, QLabel] = {}
        grid = QGridLayout(state)
        grid.addWidget(self.mode_label, 0, 0, 1, 2)
        grid.addWidget(self.secure_boot_label, 1, 0, 1, 2)
        for row, (name, _guid) in enumerate(DATABASES[:4], start=2):
            label = QLabel(state)
            label.setAccessibleName(f"{name} summary")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(QLabel(f"{name}:", state), row, 0)
            grid.addWidget(label, row, 1)
            self.database_labels[name] = label
        grid.setColumnStretch(1, 1)
        self.warnings_label = QLabel(self)
        self.warnings_label.setAccessibleName("Secure Boot warnings")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.view = flat_view(
            self.model,
            "Enrolled keys",
            ((KeyColumn.DATABASE, 70), (KeyColumn.TYPE, 70), (KeyColumn.NAME, 300), (KeyColumn.OWNER, 170)),
            self,
        )

        actions = QHBoxLayout()
        self.enroll_button = self._button(
            "&Enroll…", "Enroll Microsoft, distribution or your own keys", self.enroll, actions
        )
        self.keygen_button = self._button(
            "&Generate Keys…", "Generate a key and a self-signed certificate", self.generate_keys, actions
        )
        self.sign_button = self._button(
            "&Sign Update…", "Build a signed update (.auth)", self.sign_update, actions
        )
        self.verify_button = self._button(
            "&Verify / Apply Update…",
            "Check a signed update against this store, then apply it",
            self.verify_update,
            actions,
        )
        self.rollover_button = self._button(
            "2023 &Rollover…",
            "Add Microsoft's 2023 certificates next to the 2011 ones",
            self.rollover,
            actions,
        )
        actions.addStretch(1)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(140)
        self.progress.setAccessibleName("Working")
        self.progress.hide()
        actions.addWidget(self.progress)

        layout = QVBoxLayout(self)
        layout.addLayout(actions)
        layout.addWidget(state)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.view, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        self.refresh()

    def _button(self, text: str, tip: str, slot: Callable[[], object], layout: QHBoxLayout) -> QPushButton:
        return action_button(text, tip, slot, layout, self)

    # -- the document -------------------------------------------------------------------------
    @property
    def document(self) -> Document | None:
        return self._document

    def set_document(self, document: Document | None) -> None:
        if self._document is not None:
            self._document.contents_changed.disconnect(self._schedule_refresh)
        self._document = document
        if document is not None:
            document.contents_changed.connect(self._schedule_refresh)
        self.refresh()

    def _schedule_refresh(self) -> None:
        if self.isVisible():
            self._timer.start()
        else:
            self._dirty = True  # refreshed when the page is shown

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the state of the open store and show it."""
        self._timer.stop()
        self._dirty = False
        document = self._document
        has_doc = document is not None
        for button in (self.enroll_button, self.verify_button, self.rollover_button):
            button.setEnabled(has_doc and not self._busy)
        self.keygen_button.setEnabled(not self._busy)
        if document is None:
            self.overview = None
            self.model.set_entries(())
            self.mode_label.setText("No store is open.")
            self.secure_boot_label.setText("")
            for label in self.database_labels.values():
                label.setText("")
            self.warnings_label.setText("")
            return
        overview = secure_boot_overview(document.store, self.clock())
        self.overview = overview
        self.mode_label.setText(overview.mode_text)
        self.secure_boot_label.setText(overview.secure_boot_text)
        for name, label in self.database_labels.items():
            label.setText(overview.database_text(name))
        self.warnings_label.setText("\n".join(f"⚠ {w}" for w in overview.warnings))
        self.warnings_label.setVisible(bool(overview.warnings))
        self.model.set_entries(overview.entries)
        self.overview_changed.emit(overview)

    # -- busy state --------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self._busy)

    def _begin_busy(self, text: str) -> None:
        self._busy += 1
        self.progress.show()
        self.message.emit(text)
        self.busy_changed.emit(True)
        self.refresh()

    def _end_busy(self) -> None:
        self._busy = max(self._busy - 1, 0)
        if not self._busy:
            self.progress.hide()
            self.busy_changed.emit(False)
        self.refresh()

    def _warn(self, title: str, text: str) -> None:
        self.message.emit(text)
        QMessageBox.warning(self, title, text)

    # -- actions --------------------------------------------------------------------------------------
    def enroll(self) -> bool:
        document = self._document
        if document is None:
            return False
        dialog = EnrollDialog(document.store, self.clock, self)
        accepted = dialog.exec() == EnrollDialog.DialogCode.Accepted
        variables = dialog.changed_variables()
        dialog.deleteLater()
        if not accepted:
            self.message.emit("Enrollment cancelled")
            return False
        if not variables:
            self.message.emit("Nothing to enroll")
            return False
        document.set_variables(variables, "Enroll Secure Boot keys")
        self.message.emit(f"Enrolled: {', '.join(v.name for v in variables)} changed (undoable)")
        return True

    def rollover(self) -> bool:
        document = self._document
        if document is None:
            return False
        try:
            dialog = RolloverDialog(document.store, self.clock, self)
        except UefiVarsError as exc:
            self._warn("Cannot Roll Over", str(exc))
            return False
        accepted = dialog.exec() == RolloverDialog.DialogCode.Accepted
        variables, added = dialog.changed_variables(), len(dialog.added_entries())
        dialog.deleteLater()
        if not accepted:
            self.message.emit("Rollover cancelled")
            return False
        if not variables:
            return False
        document.set_variables(variables, "Microsoft 2023 rollover")
        self.message.emit(f"Rollover: {added} certificate(s) added (undoable)")
        return True

    def verify_update(self) -> bool:
        document = self._document
        if document is None:
            return False
        dialog = VerifyDialog(document.store, self)
        dialog.applied.connect(self._push_verdict)
        applied = dialog.exec() == VerifyDialog.DialogCode.Accepted
        dialog.dispose()
        return applied

    def _push_verdict(self, verdict: UpdateVerdict) -> None:
        document = self._document
        if document is None:
            return
        count = push_changes(
            document, verdict_changes(verdict.changes), f"Apply signed update of {verdict.name}"
        )
        self.message.emit(
            f"Applied the update of {verdict.name}: {count} variable(s) changed (undoable)"
            if count
            else f"The update of {verdict.name} changes nothing"
        )

    def sign_update(self) -> SignedUpdate | None:
        document = self._document
        dialog = SignDialog(document.store if document is not None else None, self.clock, self)
        written: list[SignedUpdate] = []

        def on_signed(update: SignedUpdate, path: str) -> None:
            written.append(update)
            self.message.emit(f"Wrote {path}")

        dialog.signed.connect(on_signed)
        dialog.exec()
        dialog.deleteLater()
        return written[-1] if written else None

    def generate_keys(self) -> bool:
        dialog = KeygenDialog(self)
        accepted = dialog.exec() == KeygenDialog.DialogCode.Accepted
        work, bits = dialog.work(), dialog.bits.currentData()
        dialog.deleteLater()
        if not accepted:
            self.message.emit("Key generation cancelled")
            return False
        self._begin_busy(f"Generating an RSA {bits} key…")
        run_in_background(work, self._on_generated, self._on_generate_failed)
        return True

    def _on_generated(self, generated: GeneratedKey) -> None:
        self._end_busy()
        self.message.emit(f"Generated {generated.key_path} and its certificate")
        self.keys_generated.emit(generated)
        QMessageBox.information(self, "Keys Generated", "\n".join(generated.lines()))

    def _on_generate_failed(self, exc: BaseException) -> None:
        self._end_busy()
        if not isinstance(exc, UefiVarsError | OSError):
            raise exc
        self._warn("Cannot Generate Keys", str(exc))
