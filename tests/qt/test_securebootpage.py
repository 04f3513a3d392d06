"""The Secure Boot page (offscreen): the state at a glance for the OVMF samples, and the
actions — enroll, 2023 rollover, sign, verify/apply, generate keys — each previewed in
its dialog and applied as one undoable change. Dialogs are patched where they are used."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from uefivars_gui.codec import authfile
from uefivars_gui.core import guid as g
from uefivars_gui.core.siglist import decode_signature_database, x509_list
from uefivars_gui.core.store import VarStore
from uefivars_gui.crypto.keys import certificate_pem, generate_key, private_key_pem, self_signed_certificate
from uefivars_gui.ops import enroll as en
from uefivars_gui.ops.profiles import CERTIFICATES
from uefivars_gui.ops.sbstate import Health
from uefivars_gui.ops.signing import Signer, payload_from_certificate, sign_update
from uefivars_gui.qt import enrolldialogs, securebootpage
from uefivars_gui.qt.document import BackgroundTask, Document
from uefivars_gui.qt.enrolldialogs import (
    EnrollDialog,
    KeygenDialog,
    RolloverDialog,
    SignDialog,
    VerifyDialog,
)
from uefivars_gui.qt.securebootpage import KeyColumn, SecureBootPage

pytestmark = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.qt_log_ignore("propagateSizeHints")]

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
EMPTY_FD = DATA / "ovmf" / "OVMF_VARS_4M.fd"
AT = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)
GLOBAL = g.EFI_GLOBAL_VARIABLE
SECURITY = g.EFI_IMAGE_SECURITY_DATABASE
Accepted = QDialog.DialogCode.Accepted


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    for name in ("warning", "information"):
        monkeypatch.setattr(
            securebootpage.QMessageBox, name, lambda _p, title, text, *a: shown.append(f"{title}: {text}")
        )
    return shown


@pytest.fixture
def page(qtbot, quiet: list[str]) -> SecureBootPage:
    widget = SecureBootPage(clock=lambda: AT)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    BackgroundTask.wait_all(10)


def _open(page: SecureBootPage, path: Path) -> Document:
    document = Document.open(path, parent=page)
    page.set_document(document)
    return document


def _patch_exec(monkeypatch: pytest.MonkeyPatch, cls: type, fill: Callable[[QDialog], int]) -> list[QDialog]:
    seen: list[QDialog] = []

    def fake(self: QDialog) -> int:
        seen.append(self)
        return fill(self)

    monkeypatch.setattr(cls, "exec", fake)
    return seen


def _kek(store: VarStore) -> list[str]:
    from uefivars_gui.crypto.x509 import summarize

    var = store.get(GLOBAL, "KEK")
    assert var is not None
    return [summarize(der).name for der in decode_signature_database(var.data).certificates()]


# --- the state at a glance ------------------------------------------------------------------------


def test_microsoft_store_in_user_mode(qtmodeltester, page: SecureBootPage) -> None:
    _open(page, MS_FD)
    overview = page.overview
    assert overview is not None
    assert overview.mode == "user" and overview.secure_boot
    assert page.mode_label.text().startswith("User mode")
    assert page.secure_boot_label.text().startswith("Secure Boot is on")
    assert page.database_labels["PK"].text() == "Debian UEFI Secure Boot (PK/KEK key)"
    assert page.database_labels["KEK"].text() == "2 certificates"
    assert page.database_labels["dbx"].text() == "1 hash"
    rows = {
        (page.model.index(r, KeyColumn.DATABASE).data(), page.model.index(r, KeyColumn.NAME).data()): r
        for r in range(page.model.rowCount())
    }
    kek_2011 = rows[("KEK", "Microsoft Corporation KEK CA 2011")]
    assert page.model.index(kek_2011, KeyColumn.STATUS).data() == "expired on 2026-06-24"
    assert page.model.entry(kek_2011).health is Health.EXPIRED
    assert page.model.index(kek_2011, KeyColumn.OWNER).data() == "MicrosoftVendor"
    assert page.model.entry(rows[("PK", "Debian UEFI Secure Boot (PK/KEK key)")]).health is Health.OK
    warnings = page.warnings_label.text()
    assert "KEK: 'Microsoft Corporation KEK CA 2011' expired on 2026-06-24" in warnings
    assert "2023 successors are missing" in warnings
    qtmodeltester.check(page.model)


def test_empty_store_in_setup_mode(qtmodeltester, page: SecureBootPage) -> None:
    _open(page, EMPTY_FD)
    overview = page.overview
    assert overview is not None and overview.mode == "setup" and not overview.secure_boot
    assert page.mode_label.text().startswith("Setup mode")
    assert "stays off until a PK is enrolled" in page.secure_boot_label.text()
    assert page.database_labels["PK"].text() == "absent"
    assert page.model.rowCount() == 0
    assert page.warnings_label.text() == ""
    qtmodeltester.check(page.model)
    page.set_document(None)
    assert page.mode_label.text() == "No store is open." and not page.enroll_button.isEnabled()


def test_soon_expiring_certificates_warn(page: SecureBootPage) -> None:
    page.clock = lambda: dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    _open(page, MS_FD)
    statuses = [page.model.entry(r) for r in range(page.model.rowCount())]
    soon = [e for e in statuses if e.health is Health.SOON]
    assert {e.name for e in soon} >= {
        "Microsoft Corporation KEK CA 2011",
        "Microsoft Corporation UEFI CA 2011",
    }
    assert all(e.status.startswith("expires on") for e in soon)


# --- enroll -----------------------------------------------------------------------------------------------


def test_enroll_microsoft_2023_is_one_undoable_change(
    qtbot, page: SecureBootPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _open(page, MS_FD)
    original = document.store.copy()

    def fill(dialog: EnrollDialog) -> int:
        assert not dialog.ok_button.isEnabled()  # nothing chosen yet
        dialog.set_microsoft("microsoft-2023")
        assert dialog.ok_button.isEnabled()
        preview = dialog.preview_view.toPlainText()
        assert "KEK: + X.509 'Microsoft Corporation KEK 2K CA 2023' (owner MicrosoftVendor)" in preview
        assert "db: + X.509 'Microsoft UEFI CA 2023'" in preview
        return Accepted

    seen = _patch_exec(monkeypatch, EnrollDialog, fill)
    assert page.enroll()
    assert seen and document.is_modified
    assert document.undo_stack.count() == 1
    assert _kek(document.store)[-1] == "Microsoft Corporation KEK 2K CA 2023"
    assert (
        document.store.get(GLOBAL, "KEK").data == seen[0].summary.changes[0].after.data
    )  # exactly the preview
    qtbot.waitUntil(lambda: page.database_labels["KEK"].text() == "3 certificates", timeout=2000)
    document.undo_stack.undo()
    assert document.store == original
    qtbot.waitUntil(lambda: page.database_labels["KEK"].text() == "2 certificates", timeout=2000)


def test_enroll_own_keys_and_secure_boot_into_an_empty_store(
    page: SecureBootPage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    document = _open(page, EMPTY_FD)
    key = generate_key()
    cert = tmp_path / "pk.pem"
    cert.write_bytes(certificate_pem(self_signed_certificate(key, "My PK")))

    def fill(dialog: EnrollDialog) -> int:
        dialog.pk_file.set_path(cert)
        dialog.kek_files.add_paths([str(cert)])
        dialog.distro_boxes["debian"].setChecked(True)
        dialog.dbx_hashes.setPlainText("zz")
        assert "dbx hash line 1" in dialog.problem.text() and not dialog.ok_button.isEnabled()
        dialog.dbx_hashes.setPlainText("00" * 32)
        dialog.secure_boot.setCurrentIndex(dialog.secure_boot.findData(True))
        assert dialog.ok_button.isEnabled()
        assert "note: a PK is enrolled" in dialog.preview_view.toPlainText()
        return Accepted

    _patch_exec(monkeypatch, EnrollDialog, fill)
    assert page.enroll()
    page.refresh()
    assert page.overview is not None and page.overview.mode == "user" and page.overview.secure_boot
    assert {v.name for v in document.store} >= {"PK", "KEK", "db", "dbx", "SecureBootEnable"}
    document.undo_stack.undo()
    assert len(document.store) == 0


def test_enroll_cancelled_changes_nothing(page: SecureBootPage, monkeypatch: pytest.MonkeyPatch) -> None:
    document = _open(page, MS_FD)
    _patch_exec(monkeypatch, EnrollDialog, lambda d: (d.set_microsoft("microsoft-2023"), 0)[1])
    assert not page.enroll()
    assert not document.is_modified


# --- rollover -----------------------------------------------------------------------------------------------


def test_rollover_preview_lists_exactly_the_2023_entries(
    qtbot, page: SecureBootPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _open(page, MS_FD)
    original = document.store.copy()
    owner = "(owner MicrosoftVendor)"

    def fill(dialog: RolloverDialog) -> int:
        assert dialog.added_entries() == [
            f"KEK: X.509 'Microsoft Corporation KEK 2K CA 2023' {owner}",
            f"db: X.509 'Windows UEFI CA 2023' {owner}",
            f"db: X.509 'Microsoft UEFI CA 2023' {owner}",
            f"db: X.509 'Microsoft Option ROM UEFI CA 2023' {owner}",
        ]
        assert {use.certificate.key for use in dialog.relies_on} == {
            "ms-kek-ca-2011",
            "ms-windows-production-pca-2011",
            "ms-uefi-ca-2011",
        }
        preview = dialog.preview_view.toPlainText()
        assert "KEK: Microsoft Corporation KEK CA 2011 (expired 2026-06-24)" in preview
        assert dialog.status_label.text() == "4 certificate(s) will be added."
        assert dialog.ok_button.isEnabled()
        return Accepted

    _patch_exec(monkeypatch, RolloverDialog, fill)
    assert page.rollover()
    assert document.undo_stack.count() == 1
    assert "Microsoft Corporation KEK 2K CA 2023" in _kek(document.store)
    # untouched variables stay byte for byte
    assert [v for v in document.store if v.name not in ("KEK", "db")] == [
        v for v in original if v.name not in ("KEK", "db")
    ]
    page.refresh()
    assert "2023 successors are missing" not in page.warnings_label.text()

    # a second run has nothing to add
    def again(dialog: RolloverDialog) -> int:
        assert dialog.added_entries() == [] and not dialog.ok_button.isEnabled()
        assert dialog.status_label.text().startswith("Up to date")
        return 0

    _patch_exec(monkeypatch, RolloverDialog, again)
    assert not page.rollover()
    document.undo_stack.undo()
    assert document.store == original


def test_rollover_of_an_empty_store_has_nothing_to_do(
    page: SecureBootPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open(page, EMPTY_FD)

    def fill(dialog: RolloverDialog) -> int:
        assert dialog.status_label.text().startswith("Nothing to roll over")
        assert not dialog.ok_button.isEnabled()
        return 0

    _patch_exec(monkeypatch, RolloverDialog, fill)
    assert not page.rollover()


# --- sign, verify, apply -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain() -> dict[str, tuple[object, bytes]]:
    out = {}
    for role in ("PK", "KEK", "db", "Stranger"):
        key = generate_key()
        out[role] = (key, self_signed_certificate(key, f"Test {role}", not_before=AT - dt.timedelta(days=1)))
    return out


def _user_mode_document(page: SecureBootPage, chain) -> Document:  # noqa: ANN001
    store = VarStore()
    request = en.EnrollRequest(
        pk=chain["PK"][1], kek=(x509_list(chain["KEK"][1], en.DEFAULT_OWNER),), owner=en.DEFAULT_OWNER
    )
    en.enroll(store, request, now=AT - dt.timedelta(hours=1))
    document = Document(store, parent=page)
    page.set_document(document)
    return document


def test_sign_dialog_writes_an_auth_file(
    page: SecureBootPage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chain
) -> None:  # noqa: ANN001
    document = _user_mode_document(page, chain)
    key, cert = chain["KEK"]
    (tmp_path / "kek.key").write_bytes(private_key_pem(key, "secret"))
    (tmp_path / "kek.pem").write_bytes(certificate_pem(cert))
    (tmp_path / "db.pem").write_bytes(certificate_pem(chain["db"][1]))
    output = tmp_path / "db-append.auth"

    def fill(dialog: SignDialog) -> int:
        dialog.key_file.set_path(tmp_path / "kek.key")
        dialog.cert_file.set_path(tmp_path / "kek.pem")
        dialog.variable.setCurrentText("db")
        dialog.append.setChecked(True)
        dialog.payload_file.set_path(tmp_path / "db.pem")
        assert dialog.payload_kind.currentData() == "certificate"  # guessed from the extension
        dialog.output.set_path(output)
        assert dialog.sign() is None  # wrong passphrase
        assert dialog.problem.text()
        dialog.passphrase.setText("secret")
        update = dialog.sign()
        assert update is not None and update.append and update.name == "db"
        assert "written to" in dialog.result_view.toPlainText()
        return 0

    _patch_exec(monkeypatch, SignDialog, fill)
    update = page.sign_update()
    assert update is not None
    decoded = authfile.decode(output.read_bytes())
    assert decoded.payload == payload_from_certificate(chain["db"][1], en.DEFAULT_OWNER)
    assert not document.is_modified


def test_verify_dialog_accepts_rejects_and_applies(
    qtbot, page: SecureBootPage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chain
) -> None:  # noqa: ANN001
    document = _user_mode_document(page, chain)
    payload = payload_from_certificate(chain["db"][1], en.DEFAULT_OWNER)
    good = tmp_path / "good.auth"
    bad = tmp_path / "bad.auth"
    for path, role in ((good, "KEK"), (bad, "Stranger")):
        signer = Signer(*chain[role])  # type: ignore[arg-type]
        path.write_bytes(sign_update(signer, "db", payload, append=True, store=document.store, now=AT).data)
    verdicts: list[tuple[bool, str, str]] = []

    def fill(dialog: VerifyDialog) -> int:
        dialog.variable.setCurrentText("db")
        dialog.append.setChecked(True)
        for path in (bad, good):
            dialog.update_file.set_path(path)
            with qtbot.waitSignal(dialog.verdict_ready, timeout=10000):
                assert dialog.verify()
            verdicts.append(
                (dialog.verdict.accepted, dialog.verdict_label.text(), dialog.trusted_label.text())
            )
        assert dialog.apply_button.isEnabled()
        with qtbot.waitSignal(dialog.applied, timeout=10000):
            dialog.apply_button.click()
        return dialog.result()

    _patch_exec(monkeypatch, VerifyDialog, fill)
    assert page.verify_update()
    assert verdicts[0][0] is False and verdicts[0][1].startswith("Rejected (EFI_SECURITY_VIOLATION)")
    assert "no enrolled certificate vouches" in verdicts[0][2]
    assert verdicts[1][0] is True and verdicts[1][1] == "Accepted (EFI_SUCCESS)"
    assert "KEK #0 'Test KEK'" in verdicts[1][2]
    db = document.store.get(SECURITY, "db")
    assert db is not None and decode_signature_database(db.data).certificates() == (chain["db"][1],)
    assert document.undo_stack.count() == 1
    document.undo_stack.undo()
    assert document.store.get(SECURITY, "db") is None


def test_verify_dialog_needs_a_file(page: SecureBootPage) -> None:
    _open(page, MS_FD)
    dialog = VerifyDialog(page.document.store, page)
    assert not dialog.verify()
    assert "choose the update file" in dialog.problem.text()


# --- generate keys -------------------------------------------------------------------------------------------


def test_generate_keys_in_the_background(
    qtbot, page: SecureBootPage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, quiet: list[str]
) -> None:
    folder = tmp_path / "keys"

    def fill(dialog: KeygenDialog) -> int:
        dialog.folder.set_path(folder)
        dialog.common_name.setText("My Test PK")
        dialog.passphrase.setText("one")
        dialog.confirm.setText("two")
        assert "passphrases differ" in dialog.problem.text() and not dialog.ok_button.isEnabled()
        dialog.confirm.setText("one")
        assert dialog.ok_button.isEnabled()
        return Accepted

    _patch_exec(monkeypatch, KeygenDialog, fill)
    with qtbot.waitSignal(page.keys_generated, timeout=20000) as blocker:
        assert page.generate_keys()
        assert page.busy and page.progress.isVisible()
    assert not page.busy
    generated = blocker.args[0]
    assert generated.encrypted and generated.summary.subject_cn == "My Test PK"
    assert {p.name for p in folder.iterdir()} == {"key.pem", "cert.pem", "cert.der"}
    assert quiet and quiet[-1].startswith("Keys Generated")

    # never overwrite: the same folder is refused by the dialog
    dialog = KeygenDialog(page)
    dialog.folder.set_path(folder)
    dialog.common_name.setText("Again")
    assert not dialog.ok_button.isEnabled() and "already exist" in dialog.problem.text()


# --- in the main window -----------------------------------------------------------------------------------------


def test_pages_are_registered_and_follow_the_document(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from uefivars_gui.qt import mainwindow

    monkeypatch.setattr(
        mainwindow.QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard
    )
    window = mainwindow.MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    titles = [window.pages.tabText(i) for i in range(window.pages.count())]
    assert titles[-2:] == ["Secure Boot", "Policies"]
    with qtbot.waitSignal(window.document_opened, timeout=10000):
        window.open_path(MS_FD)
    assert window.secure_boot_page.document is window.document
    assert window.secure_boot_page.overview is not None and window.secure_boot_page.overview.mode == "user"
    BackgroundTask.wait_all(10)


def test_known_certificates_are_identified(page: SecureBootPage) -> None:
    _open(page, MS_FD)
    known = {page.model.entry(r).known for r in range(page.model.rowCount())}
    assert {"ms-kek-ca-2011", "ms-uefi-ca-2011", "ms-windows-production-pca-2011"} <= known
    assert CERTIFICATES["ms-kek-ca-2011"].label == "Microsoft Corporation KEK CA 2011"
    assert enrolldialogs.DATABASE_NAMES[:2] == ("PK", "KEK")


def unnamed_inputs(root: QWidget) -> list[str]:
    """Inputs of ``root`` without an accessible name (buttons may use their text)."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QAbstractSpinBox,
        QComboBox,
        QHeaderView,
        QLineEdit,
        QPlainTextEdit,
    )

    missing: list[str] = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QHeaderView) or widget.objectName().startswith("qt_"):
            continue
        if widget.window() is not root.window() or not widget.isVisibleTo(root):
            continue  # other windows (dialogs), combo-box pop-ups, hidden parts
        if isinstance(widget, QAbstractButton):
            if not (widget.text() or widget.accessibleName()):
                missing.append(type(widget).__name__)
        elif isinstance(widget, QLineEdit) and isinstance(widget.parent(), QAbstractSpinBox | QComboBox):
            continue
        elif (
            isinstance(widget, QLineEdit | QComboBox | QAbstractSpinBox | QPlainTextEdit | QAbstractItemView)
            and not widget.accessibleName()
        ):
            missing.append(f"{type(widget).__name__} {widget.objectName()}")
    return missing


def test_every_input_has_an_accessible_name(qtbot, page: SecureBootPage) -> None:
    from uefivars_gui.qt.policypage import PolicyPage

    document = _open(page, MS_FD)
    policies = PolicyPage()
    qtbot.addWidget(policies)
    policies.add_entry()
    for root in (
        page,
        policies,
        EnrollDialog(document.store, parent=page),
        KeygenDialog(page),
        SignDialog(document.store, parent=page),
        VerifyDialog(document.store, page),
        RolloverDialog(document.store, lambda: AT, page),
    ):
        assert unnamed_inputs(root) == [], type(root).__name__


def test_a_hidden_page_refreshes_when_shown(qtbot, page: SecureBootPage) -> None:
    document = _open(page, MS_FD)
    page.hide()
    document.delete_variables([(GLOBAL, "PK")])
    qtbot.wait(20)
    assert page.overview is not None and page.overview.mode == "user"  # not recomputed while hidden
    page.show()
    assert page.overview.mode == "setup" and page.mode_label.text().startswith("Setup mode")
    document.undo_stack.undo()
    qtbot.waitUntil(lambda: page.overview.mode == "user", timeout=2000)
