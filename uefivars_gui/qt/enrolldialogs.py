"""The dialogs of the Secure Boot page: enroll, generate keys, sign an update, verify /
apply an update, and the Microsoft 2023 rollover assistant.

Each dialog gathers input and shows what the library says (ops.enroll, ops.keygen,
ops.signing, ops.verify/apply, ops.rollover); the previews are computed on copies of the
store, and the page pushes the previewed result onto the document's undo stack. File
dialogs are the QFileDialog statics (tests patch them); long work (verification, applying)
runs with :func:`~.document.run_in_background` and reports by signal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from PySide6.QtCore import QDateTime, Qt, QTimeZone, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core import guid as g
from ..core.efitime import EfiTime
from ..core.siglist import SignatureList
from ..core.store import VarStore
from ..core.variable import Variable
from ..crypto.keys import DEFAULT_DAYS, RSA_SIZES
from ..errors import UefiVarsError, UsageError
from ..live.atomic import atomic_write
from ..ops import keygen
from ..ops.apply import apply_update
from ..ops.enroll import (
    DEFAULT_OWNER,
    SECURE_BOOT_DATABASES,
    EnrollRequest,
    EnrollSummary,
    enroll,
    hash_signature_list,
    signature_lists_from_file,
)
from ..ops.profiles import DISTROS, PROFILES
from ..ops.rollover import CertificateUse, plan_additions, rollover_store
from ..ops.signing import (
    DIGESTS,
    SignedUpdate,
    load_signer,
    payload_from_certificate,
    payload_from_esl,
    sign_update,
)
from ..ops.verify import UpdateVerdict, verify_update
from .document import run_in_background

Clock = Callable[[], dt.datetime]

CERT_FILTER = "Certificates (*.pem *.crt *.der *.cer);;All files (*)"
LIST_FILTER = (
    "Certificates, signature lists and updates (*.pem *.crt *.der *.cer *.esl *.auth *.bin);;All files (*)"
)
KEY_FILTER = "Private keys (*.pem *.key *.der);;All files (*)"
P12_FILTER = "PKCS#12 (*.p12 *.pfx);;All files (*)"
UPDATE_FILTER = "Signed updates (*.auth *.bin);;All files (*)"
AUTH_FILTER = "Signed update (*.auth);;All files (*)"
PAYLOAD_FILTER = "Payload (*.esl *.pem *.crt *.der *.cer *.bin);;All files (*)"

#: Owner GUIDs offered for the user's own entries (any GUID can be typed).
KNOWN_OWNERS = (g.OVMF_ENROLL_DEFAULT_KEYS, g.MICROSOFT_VENDOR, g.SHIM_LOCK, g.ZERO_GUID)
#: The secure-boot databases, offered where a variable is chosen.
DATABASE_NAMES = tuple(SECURE_BOOT_DATABASES)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- shared widgets ------------------------------------------------------------------------------


class FileField(QWidget):
    """A path with a Browse… button (open, save or directory)."""

    changed = Signal()

    def __init__(
        self,
        accessible_name: str,
        title: str,
        file_filter: str = "",
        *,
        mode: str = "open",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._title = title
        self._filter = file_filter
        self._mode = mode
        self.edit = QLineEdit(self)
        self.edit.setAccessibleName(accessible_name)
        self.edit.textChanged.connect(lambda _t: self.changed.emit())
        self.browse = QPushButton("Browse…", self)
        self.browse.setAccessibleName(f"Choose: {accessible_name}")
        self.browse.clicked.connect(self.choose)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)

    def path(self) -> str:
        return self.edit.text().strip()

    def set_path(self, path: str | Path) -> None:
        self.edit.setText(str(path))

    def choose(self) -> None:
        start = self.path()
        if self._mode == "directory":
            path = QFileDialog.getExistingDirectory(self, self._title, start)
        elif self._mode == "save":
            path, _ = QFileDialog.getSaveFileName(self, self._title, start, self._filter)
        else:
            path, _ = QFileDialog.getOpenFileName(self, self._title, start, self._filter)
        if path:
            self.set_path(path)


class FileListField(QWidget):
    """Several files (Add… / Remove)."""

    changed = Signal()

    def __init__(
        self, accessible_name: str, title: str, file_filter: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._title = title
        self._filter = file_filter
        self.list = QListWidget(self)
        self.list.setAccessibleName(accessible_name)
        self.list.setMaximumHeight(70)
        self.add_button = QPushButton("Add…", self)
        self.add_button.setAccessibleName(f"Add files: {accessible_name}")
        self.add_button.clicked.connect(self.choose)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setAccessibleName(f"Remove the selected file: {accessible_name}")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def paths(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def add_paths(self, paths: list[str]) -> None:
        for path in paths:
            if path and path not in self.paths():
                self.list.addItem(path)
        self.changed.emit()

    def choose(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self._title, "", self._filter)
        self.add_paths(list(paths))

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.changed.emit()


class GuidCombo(QComboBox):
    """An editable GUID picker over ``choices``; an empty text means ``None`` when allowed."""

    def __init__(
        self,
        accessible_name: str,
        choices: tuple[UUID, ...],
        *,
        allow_empty: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setAccessibleName(accessible_name)
        self._allow_empty = allow_empty is not None
        edit = self.lineEdit()
        if allow_empty is not None and edit is not None:
            edit.setPlaceholderText(allow_empty)
            self.addItem("", None)
        for guid in choices:
            self.addItem(f"{g.guid_label(guid)} — {guid}", guid)

    def guid(self) -> UUID | None:
        """The chosen GUID; None for an empty optional one; UsageError when not a GUID."""
        text = self.currentText().strip()
        if not text:
            if self._allow_empty:
                return None
            raise UsageError(f"{self.accessibleName()}: give a GUID")
        index = self.findText(text)
        if index >= 0 and isinstance(self.itemData(index), UUID):
            return self.itemData(index)  # type: ignore[no-any-return]
        try:
            return g.parse_guid(text.split("—")[-1])
        except UefiVarsError:
            raise UsageError(f"{self.accessibleName()}: {text!r} is not a GUID or a known name") from None

    def set_guid(self, guid: UUID | None) -> None:
        index = self.findData(guid)
        if index >= 0:
            self.setCurrentIndex(index)
        else:
            self.setEditText(str(guid) if guid is not None else "")


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot read: {exc.strerror or exc}") from None


def _text_view(accessible_name: str, parent: QWidget) -> QPlainTextEdit:
    view = QPlainTextEdit(parent)
    view.setReadOnly(True)
    view.setAccessibleName(accessible_name)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    return view


def _problem_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setAccessibleName("Problems")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _show_problem(label: QLabel, text: str) -> None:
    label.setText(f"⚠ {text}" if text else "")
    label.setVisible(bool(text))


def _variable_fields(parent: QWidget) -> tuple[QComboBox, GuidCombo]:
    """The variable (a Secure Boot database or any name) and its namespace (empty: from the name)."""
    variable = QComboBox(parent)
    variable.setEditable(True)
    variable.addItems(list(DATABASE_NAMES))
    variable.setCurrentText("db")
    variable.setAccessibleName("Variable")
    guid = GuidCombo(
        "Variable namespace",
        (g.EFI_GLOBAL_VARIABLE, g.EFI_IMAGE_SECURITY_DATABASE),
        allow_empty="from the name",
        parent=parent,
    )
    return variable, guid


def _ok_cancel(dialog: QDialog, text: str, accessible_name: str) -> tuple[QDialogButtonBox, QPushButton]:
    """OK / Cancel wired to accept / reject, the OK button renamed."""
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=dialog
    )
    ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok_button.setText(text)
    ok_button.setAccessibleName(accessible_name)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons, ok_button


def changed_variables(summary: EnrollSummary) -> list[Variable]:
    """The variables an enrollment summary created or updated (what goes onto the store)."""
    return [c.after for c in summary.changes if c.changed and c.after is not None]


# --- Enroll ----------------------------------------------------------------------------------------


class EnrollDialog(QDialog):
    """What to enroll, with a preview of exactly what changes (computed on a copy)."""

    #: Microsoft choices: (text, profile name or None).
    MICROSOFT_CHOICES: tuple[tuple[str, str | None], ...] = (
        ("No Microsoft certificates", None),
        *((profile.description, name) for name, profile in PROFILES.items()),
    )
    SECURE_BOOT_CHOICES = (("Leave as it is", None), ("On", True), ("Off", False))

    def __init__(self, store: VarStore, clock: Clock = now_utc, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Enroll Secure Boot Keys")
        self._store = store
        self._clock = clock
        self.summary: EnrollSummary | None = None

        self.microsoft = QComboBox(self)
        self.microsoft.setAccessibleName("Microsoft certificates")
        for text, name in self.MICROSOFT_CHOICES:
            self.microsoft.addItem(text, name)
        distro_box = QGroupBox("Distribution CAs (db)", self)
        distro_box.setAccessibleName("Distribution CAs")
        grid = QGridLayout(distro_box)
        self.distro_boxes: dict[str, QCheckBox] = {}
        for number, (name, profile) in enumerate(DISTROS.items()):
            box = QCheckBox(profile.description, distro_box)
            box.setAccessibleName(f"Distribution CA: {profile.description}")
            grid.addWidget(box, number // 2, number % 2)
            self.distro_boxes[name] = box
        self.owner = GuidCombo("Owner GUID of your entries", KNOWN_OWNERS, parent=self)
        self.pk_file = FileField("PK certificate", "Choose the PK certificate", CERT_FILTER, parent=self)
        self.kek_files = FileListField("KEK files", "Add KEK certificates or lists", LIST_FILTER, self)
        self.db_files = FileListField("db files", "Add db certificates or lists", LIST_FILTER, self)
        self.dbx_files = FileListField(
            "dbx files", "Add dbx lists or updates (DBXUpdate.bin)", LIST_FILTER, self
        )
        self.dbx_hashes = QPlainTextEdit(self)
        self.dbx_hashes.setAccessibleName("dbx hashes")
        self.dbx_hashes.setPlaceholderText("SHA-256/384/512 hashes in hex, one per line")
        self.dbx_hashes.setMaximumHeight(60)
        self.secure_boot = QComboBox(self)
        self.secure_boot.setAccessibleName("Secure Boot")
        for text, value in self.SECURE_BOOT_CHOICES:
            self.secure_boot.addItem(text, value)
        self.preview_view = _text_view("Preview of the changes", self)
        self.problem = _problem_label(self)
        self.buttons, self.ok_button = _ok_cancel(self, "&Enroll", "Enroll the previewed changes")

        form = QFormLayout()
        form.addRow("&Microsoft:", self.microsoft)
        form.addRow(distro_box)
        form.addRow("&Owner of your entries:", self.owner)
        form.addRow("&PK certificate:", self.pk_file)
        form.addRow("&KEK:", self.kek_files)
        form.addRow("&db:", self.db_files)
        form.addRow("db&x files:", self.dbx_files)
        form.addRow("dbx &hashes:", self.dbx_hashes)
        form.addRow("&Secure Boot:", self.secure_boot)
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addLayout(form)
        right = QVBoxLayout()
        right.addWidget(QLabel("Preview (what the store gets):", self))
        right.addWidget(self.preview_view, 1)
        right.addWidget(self.problem)
        right.addWidget(self.buttons)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)

        self.microsoft.currentIndexChanged.connect(self.update_preview)
        for box in self.distro_boxes.values():
            box.toggled.connect(self.update_preview)
        self.owner.currentTextChanged.connect(self.update_preview)
        for field in (self.pk_file, self.kek_files, self.db_files, self.dbx_files):
            field.changed.connect(self.update_preview)
        self.dbx_hashes.textChanged.connect(self.update_preview)
        self.secure_boot.currentIndexChanged.connect(self.update_preview)
        self.resize(960, 620)
        self.update_preview()

    def set_microsoft(self, profile: str | None) -> None:
        self.microsoft.setCurrentIndex(self.microsoft.findData(profile))

    def request(self) -> EnrollRequest:
        """The request the form describes; UsageError / DecodeError when it cannot be built."""
        owner = self.owner.guid() or DEFAULT_OWNER

        def lists(field: FileListField) -> tuple[SignatureList, ...]:
            out: list[SignatureList] = []
            for path in field.paths():
                out.extend(signature_lists_from_file(path, owner))
            return tuple(out)

        dbx = list(lists(self.dbx_files))
        for number, line in enumerate(self.dbx_hashes.toPlainText().splitlines(), start=1):
            if not line.strip():
                continue
            hashed = hash_signature_list(line, owner)
            if hashed is None:
                raise UsageError(f"dbx hash line {number}: not 64, 96 or 128 hex digits")
            dbx.append(hashed)
        pk_path = self.pk_file.path()
        return EnrollRequest(
            microsoft=self.microsoft.currentData(),
            distros=tuple(name for name, box in self.distro_boxes.items() if box.isChecked()),
            pk=_read(pk_path, "PK certificate") if pk_path else None,
            kek=lists(self.kek_files),
            db=lists(self.db_files),
            dbx=tuple(dbx),
            secure_boot=self.secure_boot.currentData(),
            owner=owner,
        )

    def update_preview(self, *_args: object) -> None:
        """Enroll on a copy of the store and show the summary (this is what Enroll applies)."""
        self.summary = None
        try:
            summary = enroll(self._store.copy(), self.request(), now=self._clock())
        except UefiVarsError as exc:
            self.preview_view.setPlainText("")
            _show_problem(self.problem, str(exc))
            self.ok_button.setEnabled(False)
            return
        self.summary = summary
        lines = summary.lines()
        if not summary.changed:
            lines.insert(0, "Nothing changes: choose what to enroll.")
        self.preview_view.setPlainText("\n".join(lines))
        _show_problem(self.problem, "")
        self.ok_button.setEnabled(summary.changed)

    def changed_variables(self) -> list[Variable]:
        """Exactly the previewed new values of the changed variables."""
        return changed_variables(self.summary) if self.summary is not None else []


# --- Generate keys ------------------------------------------------------------------------------------


class KeygenDialog(QDialog):
    """Folder, common name, key size and an optional passphrase for ops.keygen.generate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generate Keys")
        self.folder = FileField(
            "Folder for the key", "Choose a folder for the key", mode="directory", parent=self
        )
        self.common_name = QLineEdit(self)
        self.common_name.setAccessibleName("Common name")
        self.common_name.setPlaceholderText("e.g. My Platform Key")
        self.bits = QComboBox(self)
        self.bits.setAccessibleName("RSA key size")
        for bits in RSA_SIZES:
            self.bits.addItem(f"RSA {bits}", bits)
        self.days = QSpinBox(self)
        self.days.setRange(1, 100 * 366)
        self.days.setValue(DEFAULT_DAYS)
        self.days.setSuffix(" days")
        self.days.setAccessibleName("Validity")
        self.passphrase = QLineEdit(self)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName("Passphrase (optional)")
        self.passphrase.setPlaceholderText("optional: encrypts key.pem")
        self.confirm = QLineEdit(self)
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm.setAccessibleName("Passphrase again")
        self.problem = _problem_label(self)
        self.buttons, self.ok_button = _ok_cancel(self, "&Generate", "Generate the key")
        note = QLabel(
            f"Writes {keygen.KEY_FILE} (mode 0600), {keygen.CERT_PEM_FILE} and {keygen.CERT_DER_FILE}: "
            "a self-signed RSA CA certificate usable as PK, KEK or db. Existing files are never overwritten.",
            self,
        )
        note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(note)
        form.addRow("&Folder:", self.folder)
        form.addRow("&Common name:", self.common_name)
        form.addRow("&Key size:", self.bits)
        form.addRow("&Validity:", self.days)
        form.addRow("&Passphrase:", self.passphrase)
        form.addRow("&Again:", self.confirm)
        form.addRow(self.problem)
        form.addRow(self.buttons)
        for signal in (
            self.folder.changed,
            self.common_name.textChanged,
            self.passphrase.textChanged,
            self.confirm.textChanged,
        ):
            signal.connect(self.validate)
        self.validate()

    def problems(self) -> list[str]:
        problems: list[str] = []
        folder = self.folder.path()
        if not folder:
            problems.append("Choose a folder.")
        else:
            existing = [
                name
                for name in (keygen.KEY_FILE, keygen.CERT_PEM_FILE, keygen.CERT_DER_FILE)
                if (Path(folder) / name).exists()
            ]
            if existing:
                problems.append(f"{', '.join(existing)} already exist in this folder: choose another one.")
        if not self.common_name.text().strip():
            problems.append("Give the certificate a common name.")
        if self.passphrase.text() != self.confirm.text():
            problems.append("The passphrases differ.")
        return problems

    def validate(self, *_args: object) -> None:
        problems = self.problems()
        _show_problem(
            self.problem, " ".join(problems) if self.folder.path() or self.common_name.text() else ""
        )
        self.ok_button.setEnabled(not problems)

    def work(self) -> Callable[[], keygen.GeneratedKey]:
        """The generation to run off the UI thread (captures the form now)."""
        folder, name = self.folder.path(), self.common_name.text().strip()
        bits, days = int(self.bits.currentData()), self.days.value()
        passphrase = self.passphrase.text() or None
        return lambda: keygen.generate(folder, name, bits=bits, passphrase=passphrase, days=days)


# --- Sign an update ---------------------------------------------------------------------------------------


class SignDialog(QDialog):
    """Build a signed update (.auth) with ops.signing and write it atomically."""

    PAYLOAD_KINDS = (
        ("Signature lists (.esl)", "esl"),
        ("A certificate (becomes one X.509 entry)", "certificate"),
        ("Raw data (an empty file deletes)", "data"),
    )

    #: The update was written (the SignedUpdate, the path).
    signed = Signal(object, str)

    def __init__(self, store: VarStore | None, clock: Clock = now_utc, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign Update")
        self._store = store
        self._clock = clock
        self.signed_update: SignedUpdate | None = None

        self.signer_kind = QComboBox(self)
        self.signer_kind.setAccessibleName("Signer")
        self.signer_kind.addItem("Key and certificate files", "files")
        self.signer_kind.addItem("PKCS#12 file", "p12")
        self.key_file = FileField("Signer key", "Choose the signer's private key", KEY_FILTER, parent=self)
        self.cert_file = FileField(
            "Signer certificate", "Choose the signer's certificate", CERT_FILTER, parent=self
        )
        self.p12_file = FileField("PKCS#12 file", "Choose the PKCS#12 file", P12_FILTER, parent=self)
        self.passphrase = QLineEdit(self)
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName("Passphrase of the key")
        self.variable, self.guid = _variable_fields(self)
        self.append = QCheckBox("APPEND_WRITE (add to the variable instead of replacing it)", self)
        self.append.setAccessibleName("Append")
        self.fixed_time = QCheckBox("Use this timestamp (UTC):", self)
        self.fixed_time.setAccessibleName("Use a fixed timestamp")
        self.time_edit = QDateTimeEdit(self)
        self.time_edit.setTimeZone(QTimeZone.utc())
        self.time_edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.time_edit.setDateTime(QDateTime.currentDateTimeUtc())
        self.time_edit.setAccessibleName("Timestamp")
        self.use_store = QCheckBox("Check the timestamp against the open store", self)
        self.use_store.setAccessibleName("Check the timestamp against the open store")
        self.use_store.setChecked(store is not None)
        self.use_store.setEnabled(store is not None)
        self.digest = QComboBox(self)
        self.digest.addItems(list(DIGESTS))
        self.digest.setAccessibleName("Digest")
        self.payload_kind = QComboBox(self)
        self.payload_kind.setAccessibleName("Payload kind")
        for text, kind in self.PAYLOAD_KINDS:
            self.payload_kind.addItem(text, kind)
        self.payload_file = FileField("Payload file", "Choose the payload", PAYLOAD_FILTER, parent=self)
        self.payload_file.changed.connect(self._guess_payload_kind)
        self.owner = GuidCombo("Owner GUID of the certificate entry", KNOWN_OWNERS, parent=self)
        self.output = FileField(
            "Output .auth file", "Write the update to", AUTH_FILTER, mode="save", parent=self
        )
        self.result_view = _text_view("Signed update", self)
        self.result_view.setMaximumHeight(110)
        self.problem = _problem_label(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        self.sign_button = self.buttons.addButton("&Sign and Write", QDialogButtonBox.ButtonRole.ActionRole)
        self.sign_button.setAccessibleName("Sign the update and write the file")
        self.sign_button.clicked.connect(self.sign)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Si&gner:", self.signer_kind)
        form.addRow("&Key:", self.key_file)
        form.addRow("&Certificate:", self.cert_file)
        form.addRow("PKCS#&12:", self.p12_file)
        form.addRow("Pass&phrase:", self.passphrase)
        form.addRow("&Variable:", self.variable)
        form.addRow("&Namespace:", self.guid)
        form.addRow("", self.append)
        time_row = QHBoxLayout()
        time_row.addWidget(self.fixed_time)
        time_row.addWidget(self.time_edit, 1)
        form.addRow("&Timestamp:", time_row)
        form.addRow("", self.use_store)
        form.addRow("&Digest:", self.digest)
        form.addRow("Payload &kind:", self.payload_kind)
        form.addRow("Pa&yload:", self.payload_file)
        form.addRow("&Owner:", self.owner)
        form.addRow("&Output:", self.output)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.result_view)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.signer_kind.currentIndexChanged.connect(self._update_enabled)
        self.fixed_time.toggled.connect(self._update_enabled)
        self.payload_kind.currentIndexChanged.connect(self._update_enabled)
        self._update_enabled()

    def _update_enabled(self, *_args: object) -> None:
        files = self.signer_kind.currentData() == "files"
        self.key_file.setEnabled(files)
        self.cert_file.setEnabled(files)
        self.p12_file.setEnabled(not files)
        self.time_edit.setEnabled(self.fixed_time.isChecked())
        self.owner.setEnabled(self.payload_kind.currentData() == "certificate")

    def _guess_payload_kind(self) -> None:
        suffix = Path(self.payload_file.path()).suffix.lower()
        kind = {
            ".esl": "esl",
            ".pem": "certificate",
            ".crt": "certificate",
            ".der": "certificate",
            ".cer": "certificate",
        }
        if suffix in kind:
            self.payload_kind.setCurrentIndex(self.payload_kind.findData(kind[suffix]))

    def timestamp(self) -> EfiTime | None:
        if not self.fixed_time.isChecked():
            return None
        when = self.time_edit.dateTime().toSecsSinceEpoch()
        return EfiTime.from_datetime(dt.datetime.fromtimestamp(when, dt.UTC))

    def build(self) -> SignedUpdate:
        """Sign as the form says (does not write); UefiVarsError when it cannot."""
        passphrase = self.passphrase.text() or None
        if self.signer_kind.currentData() == "files":
            if not self.key_file.path() or not self.cert_file.path():
                raise UsageError("choose the signer's key and certificate")
            signer = load_signer(key=self.key_file.path(), cert=self.cert_file.path(), passphrase=passphrase)
        else:
            if not self.p12_file.path():
                raise UsageError("choose the PKCS#12 file")
            signer = load_signer(p12=self.p12_file.path(), passphrase=passphrase)
        if not self.payload_file.path():
            raise UsageError("choose the payload file")
        raw = _read(self.payload_file.path(), "payload")
        kind = self.payload_kind.currentData()
        if kind == "esl":
            payload = payload_from_esl(raw)
        elif kind == "certificate":
            payload = payload_from_certificate(raw, self.owner.guid() or DEFAULT_OWNER)
        else:
            payload = raw
        name = self.variable.currentText().strip()
        return sign_update(
            signer,
            name,
            payload,
            guid=self.guid.guid(),
            append=self.append.isChecked(),
            timestamp=self.timestamp(),
            digest=self.digest.currentText(),
            store=self._store if self.use_store.isChecked() else None,
            now=self._clock(),
        )

    def sign(self) -> SignedUpdate | None:
        """Sign and write the output file; shows the result or the problem."""
        output = self.output.path()
        try:
            if not output:
                raise UsageError("choose where to write the .auth file")
            update = self.build()
            atomic_write(output, update.data)
        except OSError as exc:
            _show_problem(self.problem, f"{output}: cannot write: {exc.strerror or exc}")
            return None
        except UefiVarsError as exc:
            _show_problem(self.problem, str(exc))
            return None
        _show_problem(self.problem, "")
        self.signed_update = update
        self.result_view.setPlainText("\n".join([*update.lines(), f"written to {output}"]))
        self.signed.emit(update, output)
        return update


# --- Verify / apply ---------------------------------------------------------------------------------------------


class VerifyDialog(QDialog):
    """Would the open store accept this signed update, and why? Apply pushes it.

    Verification and applying run in the background (the progress bar shows it); the
    verdict arrives by ``verdict_ready``; an accepted apply by ``applied`` (the page
    pushes its changes onto the document), after which the dialog closes.
    """

    verdict_ready = Signal(object)
    applied = Signal(object)

    def __init__(self, store: VarStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Verify / Apply Update")
        self._store = store
        self.verdict: UpdateVerdict | None = None
        self._busy = False
        self._dispose_when_idle = False

        self.update_file = FileField("Update file", "Choose a signed update", UPDATE_FILTER, parent=self)
        self.variable, self.guid = _variable_fields(self)
        self.append = QCheckBox("Send as APPEND_WRITE (as Microsoft's dbx and KEK updates)", self)
        self.append.setAccessibleName("Append")
        self.verdict_label = QLabel(self)
        self.verdict_label.setAccessibleName("Verdict")
        font = self.verdict_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.verdict_label.setFont(font)
        self.reason_label = QLabel(self)
        self.reason_label.setAccessibleName("Reason")
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.trusted_label = QLabel(self)
        self.trusted_label.setAccessibleName("Verified by")
        self.trusted_label.setWordWrap(True)
        self.details_view = _text_view("Details", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setAccessibleName("Working")
        self.progress.hide()
        self.problem = _problem_label(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        self.verify_button = self.buttons.addButton("&Verify", QDialogButtonBox.ButtonRole.ActionRole)
        self.verify_button.setAccessibleName("Verify the update against the open store")
        self.apply_button = self.buttons.addButton("&Apply", QDialogButtonBox.ButtonRole.ActionRole)
        self.apply_button.setAccessibleName("Apply the update to the open store (undoable)")
        self.apply_button.setEnabled(False)
        self.verify_button.clicked.connect(self.verify)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("&Update:", self.update_file)
        form.addRow("&Variable:", self.variable)
        form.addRow("&Namespace:", self.guid)
        form.addRow("", self.append)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.trusted_label)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        for signal in (
            self.update_file.changed,
            self.variable.currentTextChanged,
            self.guid.currentTextChanged,
            self.append.toggled,
        ):
            signal.connect(self._invalidate)
        self.resize(720, 520)

    @property
    def busy(self) -> bool:
        return self._busy

    def _invalidate(self, *_args: object) -> None:
        self.verdict = None
        self.apply_button.setEnabled(False)

    def _arguments(self) -> tuple[str, bytes, UUID | None, bool]:
        path = self.update_file.path()
        if not path:
            raise UsageError("choose the update file (.auth / .bin)")
        name = self.variable.currentText().strip()
        if not name:
            raise UsageError("give the variable name")
        return name, _read(path, "update"), self.guid.guid(), self.append.isChecked()

    def dispose(self) -> None:
        """Delete the dialog once no background work will report to it any more."""
        if self._busy:
            self._dispose_when_idle = True
        else:
            self.deleteLater()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        if not busy and self._dispose_when_idle:
            self.deleteLater()
            return
        self.progress.setVisible(busy)
        self.verify_button.setEnabled(not busy)
        self.apply_button.setEnabled(not busy and self.verdict is not None and self.verdict.accepted)

    def verify(self) -> bool:
        """Start verifying on a copy of the store; False if the form is incomplete."""
        try:
            name, data, guid, append = self._arguments()
        except UefiVarsError as exc:
            _show_problem(self.problem, str(exc))
            return False
        _show_problem(self.problem, "")
        store = self._store.copy()
        self._invalidate()
        self._set_busy(True)
        self.verdict_label.setText("Verifying…")
        run_in_background(
            lambda: verify_update(store, name, data, guid=guid, append=append),
            self._on_verdict,
            self._on_failed,
        )
        return True

    def _on_verdict(self, verdict: UpdateVerdict) -> None:
        self.verdict = verdict
        self._set_busy(False)
        self.show_verdict(verdict)
        self.verdict_ready.emit(verdict)

    def _on_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.verdict_label.setText("")
        if not isinstance(exc, UefiVarsError):
            raise exc
        _show_problem(self.problem, str(exc))

    def show_verdict(self, verdict: UpdateVerdict) -> None:
        head = "Accepted" if verdict.accepted else "Rejected"
        self.verdict_label.setText(f"{head} ({verdict.status_name})")
        self.reason_label.setText(verdict.reason)
        if verdict.trusted_by:
            self.trusted_label.setText(f"Verified by the enrolled certificate {verdict.trusted_by}")
        elif verdict.signer:
            self.trusted_label.setText(
                f"Signed by {verdict.signer!r}; no enrolled certificate vouches for it"
            )
        else:
            self.trusted_label.setText("")
        self.details_view.setPlainText("\n".join(verdict.lines()[1:]))

    def apply(self) -> bool:
        """Run the update through apply_update on a copy; an accepted result goes to ``applied``."""
        try:
            name, data, guid, append = self._arguments()
        except UefiVarsError as exc:
            _show_problem(self.problem, str(exc))
            return False
        store = self._store.copy()
        self._set_busy(True)
        run_in_background(
            lambda: apply_update(store, name, data, guid=guid, append=append),
            self._on_applied,
            self._on_failed,
        )
        return True

    def _on_applied(self, verdict: UpdateVerdict) -> None:
        closed = self._dispose_when_idle  # closed while applying: the user no longer wants it
        self.verdict = verdict
        self._set_busy(False)
        self.show_verdict(verdict)
        if verdict.accepted and not closed:
            self.applied.emit(verdict)
            self.accept()


# --- The 2023 rollover -----------------------------------------------------------------------------------------


class RolloverDialog(QDialog):
    """The Microsoft 2023 rollover for the open store: what it relies on, what gets added."""

    def __init__(self, store: VarStore, clock: Clock = now_utc, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Microsoft 2023 Rollover")
        moment = clock()
        uses, additions = plan_additions(store, now=moment)
        self.relies_on: tuple[CertificateUse, ...] = uses
        work = store.copy()
        self.summary: EnrollSummary = rollover_store(work, now=moment) if additions else EnrollSummary(())
        intro = QLabel(
            "Adds the 2023 successors of Microsoft's 2011 certificates this store relies on — KEK 2K CA 2023, "
            "Windows UEFI CA 2023, UEFI CA 2023 and Option ROM UEFI CA 2023 — with Microsoft's owner GUID. "
            "Nothing else changes: boot entries and the other variables stay as they are.",
            self,
        )
        intro.setWordWrap(True)
        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Rollover status")
        self.status_label.setWordWrap(True)
        self.preview_view = _text_view("Preview of the rollover", self)
        self.buttons, self.ok_button = _ok_cancel(self, "&Apply", "Apply the rollover (undoable)")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.status_label)
        layout.addWidget(self.preview_view, 1)
        layout.addWidget(self.buttons)

        if not uses:
            self.status_label.setText(
                "Nothing to roll over: the store holds none of Microsoft's 2011 certificates."
            )
        elif not additions:
            self.status_label.setText("Up to date: the 2023 successors are already enrolled.")
        else:
            count = len(self.added_entries())
            self.status_label.setText(f"{count} certificate(s) will be added.")
        lines = ["This store relies on:"]
        lines += [f"  {use.describe()}" for use in uses] or ["  (none of Microsoft's 2011 certificates)"]
        if self.summary.changed:
            lines.append("")
            lines.append("The rollover changes:")
            lines += [f"  {line}" for line in self.summary.lines()]
        self.preview_view.setPlainText("\n".join(lines))
        self.ok_button.setEnabled(self.summary.changed)
        self.resize(720, 460)

    def added_entries(self) -> list[str]:
        """``KEK: X.509 '…' (owner MicrosoftVendor)`` for every entry the rollover adds."""
        return [f"{change.name}: {text}" for change in self.summary.changes for text in change.added]

    def changed_variables(self) -> list[Variable]:
        return changed_variables(self.summary)
