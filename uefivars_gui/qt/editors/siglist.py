"""Signature databases (PK, KEK, db, dbx, MokList...): one table row per EFI_SIGNATURE_DATA."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from uuid import UUID

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...core import guid as g
from ...core import siglist
from ...core.siglist import SignatureDatabase, SignatureEntry, SignatureList
from ...core.typed import SignatureDatabaseValue, TypedValue
from ...crypto import x509
from ...crypto.x509 import CertificateSummary
from ...errors import DecodeError, EncodeError, UefiVarsError
from ..widgets import RowTableModel
from .base import MessageLabel, TypedEditor, warning_icon
from .certificate import CertificateDialog, certificate_status, export_certificate

#: str: "expired on ..." / "not valid before ..." / "" for a row.
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1

#: Owners offered for new entries (any GUID can be typed).
KNOWN_OWNERS = (g.MICROSOFT_VENDOR, g.OVMF_ENROLL_DEFAULT_KEYS, g.SHIM_LOCK, g.ZERO_GUID)


class SignatureColumn(IntEnum):
    TYPE = 0
    OWNER = 1
    SUBJECT = 2
    ISSUER = 3
    NOT_BEFORE = 4
    NOT_AFTER = 5
    FINGERPRINT = 6


_HEADERS = {
    SignatureColumn.TYPE: "Type",
    SignatureColumn.OWNER: "Owner",
    SignatureColumn.SUBJECT: "Subject / hash",
    SignatureColumn.ISSUER: "Issuer",
    SignatureColumn.NOT_BEFORE: "Valid from",
    SignatureColumn.NOT_AFTER: "Valid until",
    SignatureColumn.FINGERPRINT: "SHA-256 fingerprint",
}


@dataclass(frozen=True, slots=True)
class _Row:
    entry: SignatureEntry
    summary: CertificateSummary | None
    subject: str
    status: str


def _describe(entry: SignatureEntry, at: dt.datetime | None) -> _Row:
    if entry.signature_type == g.EFI_CERT_X509:
        try:
            summary = x509.summarize(entry.data)
        except UefiVarsError as exc:
            return _Row(entry, None, "not a certificate", str(exc))
        return _Row(entry, summary, summary.name, certificate_status(summary, at) or "")
    info = siglist.signature_type(entry.signature_type)
    if info is not None and info.tbs_hash_size is not None:
        try:
            value = siglist.decode_x509_hash(entry.signature_type, entry.data)
        except DecodeError as exc:
            return _Row(entry, None, entry.data.hex(), str(exc))
        return _Row(entry, None, f"{value.to_be_signed_hash.hex()} ({value.revocation_text})", "")
    return _Row(entry, None, entry.data.hex(), "")


class SignatureEntryModel(RowTableModel[_Row, SignatureColumn]):
    """The entries of a SignatureDatabase; certificates summarized by crypto.x509."""

    def __init__(
        self,
        database: SignatureDatabase | None = None,
        warning: QIcon | None = None,
        at: dt.datetime | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(SignatureColumn, _HEADERS, parent)
        self._warning = warning if warning is not None else QIcon()
        self._at = at
        self._database = SignatureDatabase()
        if database is not None:
            self.set_database(database)

    def database(self) -> SignatureDatabase:
        return self._database

    def set_database(self, database: SignatureDatabase) -> None:
        self._database = database
        self.set_rows(_describe(entry, self._at) for entry in database.entries())

    def set_reference_time(self, at: dt.datetime | None) -> None:
        """The moment for the expiry marks (None: now)."""
        self._at = at
        self.set_database(self._database)

    def entry(self, row: int) -> SignatureEntry:
        return self._rows[row].entry

    def summary(self, row: int) -> CertificateSummary | None:
        return self._rows[row].summary

    def status(self, row: int) -> str:
        return self._rows[row].status

    def cell(self, row_index: int, column: SignatureColumn, role: int) -> object:
        row = self._rows[row_index]
        summary = row.summary
        if role == Qt.ItemDataRole.DisplayRole:
            if column is SignatureColumn.TYPE:
                return row.entry.type_label
            if column is SignatureColumn.OWNER:
                return g.guid_label(row.entry.owner)
            if column is SignatureColumn.SUBJECT:
                return row.subject
            if summary is None:
                return ""
            if column is SignatureColumn.ISSUER:
                return summary.issuer_cn or summary.issuer
            if column is SignatureColumn.NOT_BEFORE:
                return f"{summary.not_before:%Y-%m-%d}"
            if column is SignatureColumn.NOT_AFTER:
                return f"{summary.not_after:%Y-%m-%d}" + (" (expired)" if summary.expired(self._at) else "")
            return summary.sha256
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.status:
                return f"Warning: {row.status}"
            if column is SignatureColumn.OWNER:
                return str(row.entry.owner)
            if column is SignatureColumn.SUBJECT and summary is not None:
                return summary.subject
            if column is SignatureColumn.ISSUER and summary is not None:
                return summary.issuer
            return None
        if role == Qt.ItemDataRole.DecorationRole and column is SignatureColumn.SUBJECT and row.status:
            return self._warning
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and row.status:
            return f"Warning: {row.status}"
        if role == STATUS_ROLE:
            return row.status
        return None


class SignatureListEditor(TypedEditor):
    """The table plus Add certificate / Add hash / Remove / Export / Details."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._at: dt.datetime | None = None
        self.model = SignatureEntryModel(warning=warning_icon(self), parent=self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Signatures")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(SignatureColumn.SUBJECT, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.table.activated.connect(self._on_double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.problems = MessageLabel(self, "Problems")

        self.add_cert = QPushButton("Add &certificate…", self)
        self.add_cert.setToolTip("Add an X.509 certificate (PEM or DER file) as a new signature list")
        self.add_cert.clicked.connect(self.add_certificate)
        self.remove = QPushButton("&Remove", self)
        self.remove.setToolTip("Remove the selected entries")
        self.remove.clicked.connect(self.remove_selected)
        self.export = QPushButton("E&xport…", self)
        self.export.setToolTip("Export the selected certificate as PEM or DER")
        self.export.clicked.connect(self.export_selected)
        self.details = QPushButton("De&tails…", self)
        self.details.setToolTip("Show the selected certificate (or double-click it)")
        self.details.clicked.connect(self.show_details)

        self.owner = QComboBox(self)
        self.owner.setEditable(True)
        self.owner.setAccessibleName("Owner of new entries")
        self.owner.setToolTip("SignatureOwner GUID for added entries: a GUID or a well-known name")
        self.hash_edit = QLineEdit(self)
        self.hash_edit.setAccessibleName("SHA-256 hash to add")
        self.hash_edit.setPlaceholderText("SHA-256 hash, 64 hex digits")
        self.hash_edit.returnPressed.connect(self.add_hash_entered)
        self.add_hash = QPushButton("Add &hash", self)
        self.add_hash.clicked.connect(self.add_hash_entered)

        buttons = QHBoxLayout()
        for button in (self.add_cert, self.remove, self.export, self.details):
            buttons.addWidget(button)
        buttons.addStretch(1)
        add_row = QHBoxLayout()
        owner_label = QLabel("Ow&ner:", self)
        owner_label.setBuddy(self.owner)
        add_row.addWidget(owner_label)
        add_row.addWidget(self.owner)
        hash_label = QLabel("SHA-2&56:", self)
        hash_label.setBuddy(self.hash_edit)
        add_row.addWidget(hash_label)
        add_row.addWidget(self.hash_edit, 1)
        add_row.addWidget(self.add_hash)
        layout = QVBoxLayout(self)
        layout.addWidget(self.problems)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(add_row)
        layout.addWidget(self.error)
        self.certificate_dialog: CertificateDialog | None = None
        self._update_buttons()

    # --- showing ---

    def database(self) -> SignatureDatabase:
        return self.model.database()

    def set_reference_time(self, at: dt.datetime | None) -> None:
        self._at = at
        self.model.set_reference_time(at)

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, SignatureDatabaseValue)
        self.model.set_database(value.database)
        is_pk = self._variable is not None and self._variable.name in ("PK", "PKDefault")
        self.problems.set_messages(siglist.check_format(value.database, is_pk=is_pk, is_rsa=x509.is_rsa))
        self._fill_owners(value.database)
        self.table.resizeColumnToContents(SignatureColumn.TYPE)
        self.table.resizeColumnToContents(SignatureColumn.OWNER)
        self._update_buttons()

    def _fill_owners(self, database: SignatureDatabase) -> None:
        current = self.owner.currentText()
        owners: list[UUID] = []
        for entry in database.entries():
            if entry.owner not in owners:
                owners.append(entry.owner)
        for known in KNOWN_OWNERS:
            if known not in owners:
                owners.append(known)
        self.owner.clear()
        for owner in owners:
            self.owner.addItem(g.guid_label(owner), str(owner))
        if current:
            self.owner.setCurrentText(current)

    def update_read_only(self, read_only: bool) -> None:
        for widget in (self.owner, self.hash_edit):
            widget.setEnabled(not read_only)
        self._update_buttons()

    def select_offset(self, offset: int) -> None:
        for row in range(self.model.rowCount()):
            entry = self.model.entry(row)
            if entry.offset <= offset < entry.offset + entry.signature.size:
                selection = self.table.selectionModel()
                selection.blockSignals(True)
                self.table.selectRow(row)
                selection.blockSignals(False)
                self.table.viewport().update()
                self._update_buttons()
                return

    # --- actions ---

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def _owner(self) -> UUID | None:
        text = self.owner.currentText().strip()
        data = self.owner.currentData()
        if data and self.owner.itemText(self.owner.currentIndex()) == text:
            return UUID(str(data))
        try:
            return g.parse_guid(text)
        except DecodeError as exc:
            self.show_error(str(exc))
            return None

    def _commit_database(self, database: SignatureDatabase) -> bool:
        current = self._value
        describe = current.describe_x509 if isinstance(current, SignatureDatabaseValue) else None
        new = SignatureDatabaseValue(database, describe)
        if self.commit(new):
            self.show_value(new)
            return True
        return False

    def remove_selected(self) -> bool:
        rows = self.selected_rows()
        if not rows or self._read_only:
            return False
        doomed = {(self.model.entry(r).list_index, self.model.entry(r).entry_index) for r in rows}
        database = siglist.remove_entries(self.database(), lambda e: (e.list_index, e.entry_index) in doomed)
        return self._commit_database(database)

    def add_certificate(self) -> bool:
        if self._read_only:
            return False
        path, _ = QFileDialog.getOpenFileName(
            self, "Add certificate", "", "Certificates (*.pem *.crt *.cer *.der);;All files (*)"
        )
        if not path:
            return False
        return self.add_certificate_file(path)

    def add_certificate_file(self, path: str) -> bool:
        owner = self._owner()
        if owner is None:
            return False
        try:
            der = x509.load_certificate_file(path)
        except UefiVarsError as exc:
            self.show_error(str(exc))
            return False
        if der in self.database().certificates():
            self.show_error("This certificate is already in the database.")
            return False
        return self._commit_database(self.database().extended(siglist.x509_list(der, owner)))

    def add_hash_entered(self) -> bool:
        if self._read_only:
            return False
        owner = self._owner()
        if owner is None:
            return False
        text = "".join(self.hash_edit.text().split()).replace(":", "")
        try:
            digest = bytes.fromhex(text)
        except ValueError:
            self.show_error("A SHA-256 hash is 64 hex digits.")
            return False
        if len(digest) != 32:
            self.show_error(f"A SHA-256 hash is 32 bytes, this is {len(digest)}.")
            return False
        database = self.database()
        if any(e.signature_type == g.EFI_CERT_SHA256 and e.data == digest for e in database.entries()):
            self.show_error("This hash is already in the database.")
            return False
        try:
            database = self._with_hash(database, digest, owner)
        except EncodeError as exc:
            self.show_error(str(exc))
            return False
        if self._commit_database(database):
            self.hash_edit.clear()
            return True
        return False

    @staticmethod
    def _with_hash(database: SignatureDatabase, digest: bytes, owner: UUID) -> SignatureDatabase:
        """Append to the last plain SHA-256 list (as dbx updates do), else add a new list."""
        new_entry = siglist.SignatureData(owner, digest)
        lists = list(database.lists)
        for index in range(len(lists) - 1, -1, -1):
            lst = lists[index]
            if (
                lst.signature_type == g.EFI_CERT_SHA256
                and lst.signature_size == new_entry.size
                and not lst.header
            ):
                lists[index] = SignatureList(
                    lst.signature_type, lst.header, lst.signature_size, lst.entries + (new_entry,)
                )
                return SignatureDatabase(tuple(lists))
        return database.extended(siglist.hash_list(g.EFI_CERT_SHA256, (digest,), owner))

    def _selected_certificate(self) -> int | None:
        rows = self.selected_rows()
        if len(rows) != 1:
            return None
        row = rows[0]
        return row if self.model.entry(row).signature_type == g.EFI_CERT_X509 else None

    def export_selected(self) -> str | None:
        row = self._selected_certificate()
        if row is None:
            return None
        try:
            return export_certificate(self, self.model.entry(row).data)
        except (UefiVarsError, OSError) as exc:
            self.show_error(f"Export failed: {exc}")
            return None

    def show_details(self, row: int | None = None) -> CertificateDialog | None:
        if row is None or isinstance(row, bool):
            row = self._selected_certificate()
        if row is None or self.model.entry(row).signature_type != g.EFI_CERT_X509:
            return None
        entry = self.model.entry(row)
        if self.certificate_dialog is not None:
            self.certificate_dialog.close()
            self.certificate_dialog.deleteLater()
        owner = g.guid_label(entry.owner)
        self.certificate_dialog = CertificateDialog(entry.data, owner, self._at, self)
        self.certificate_dialog.open()
        return self.certificate_dialog

    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.show_details(index.row())

    def _on_selection(self, *_: object) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            entry = self.model.entry(rows[0])
            self.field_selected.emit(entry.offset, entry.signature.size)
        self._update_buttons()

    def _update_buttons(self) -> None:
        rows = self.selected_rows()
        editable = not self._read_only
        certificate = self._selected_certificate() is not None
        self.add_cert.setEnabled(editable)
        self.add_hash.setEnabled(editable)
        self.remove.setEnabled(editable and bool(rows))
        self.export.setEnabled(certificate)
        self.details.setEnabled(certificate)
