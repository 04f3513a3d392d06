"""VariableEditor and the typed editors, driven through their widgets on real OVMF data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QFileDialog, QHeaderView, QWidget

from uefivars_gui.codec import edk2
from uefivars_gui.core import devicepath, loadoption, siglist
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import AT, AW, BS, HR, NV, RT, Attributes
from uefivars_gui.core.crc import crc32
from uefivars_gui.core.policy import LockPolicyType, VariablePolicyEntry, encode_policy_table
from uefivars_gui.core.variable import Variable
from uefivars_gui.crypto.x509 import load_certificate_file
from uefivars_gui.qt.editors import VariableEditor
from uefivars_gui.qt.editors.attributes import attribute_warnings
from uefivars_gui.qt.editors.certificate import DER_FILTER, PEM_FILTER, CertificateDialog
from uefivars_gui.qt.editors.devicepath import DevicePathEditor
from uefivars_gui.qt.editors.hexvalue import HexValueEditor
from uefivars_gui.qt.editors.loadoption import KeyOptionEditor, LoadOptionEditor
from uefivars_gui.qt.editors.order import LoadOrderEditor, LoadOrderModel
from uefivars_gui.qt.editors.policy import PolicyColumn, PolicyEntryModel, PolicyTableEditor
from uefivars_gui.qt.editors.scalar import BoolEditor, IntegerEditor, TextValueEditor
from uefivars_gui.qt.editors.siglist import (
    STATUS_ROLE,
    SignatureColumn,
    SignatureEntryModel,
    SignatureListEditor,
)
from uefivars_gui.qt.hexview import ASCII_COLUMN

_CHECKED_MODELS: list[object] = []


def check_model(qtmodeltester, model) -> None:  # type: ignore[no-untyped-def]
    """qtmodeltester with its Python checks (a failure raises) and the model kept alive."""
    _CHECKED_MODELS.append(model)
    qtmodeltester.check(model, force_py=True)


DATA = Path(__file__).resolve().parents[1] / "data"
CERTS = DATA / "certs"
#: After every Microsoft 2011 CA expired (June/October 2026), before 2038.
LATER = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
EARLIER = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NV_BS_RT = NV | BS | RT


@pytest.fixture(scope="module")
def store() -> dict[str, Variable]:
    image = edk2.decode((DATA / "ovmf" / "OVMF_VARS_4M.ms.fd").read_bytes())
    return {v.name: v for v in image.store}


@pytest.fixture
def editor(qtbot, store: dict[str, Variable]) -> VariableEditor:  # type: ignore[no-untyped-def]
    widget = VariableEditor()
    qtbot.addWidget(widget)
    widget.set_context(store.get)
    widget.set_reference_time(LATER)
    widget.resize(1000, 900)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def emitted(editor: VariableEditor) -> list[Variable]:
    out: list[Variable] = []
    editor.variable_edited.connect(out.append)
    return out


def global_var(name: str, data: bytes, attributes: Attributes = NV_BS_RT) -> Variable:
    return Variable(name, g.EFI_GLOBAL_VARIABLE, attributes, data)


def type_into(qtbot, widget, text: str) -> None:  # type: ignore[no-untyped-def]
    widget.selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def click(qtbot, widget) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


# --- header, apply semantics ---------------------------------------------------------


def test_header_shows_identity_size_and_time(editor: VariableEditor, store: dict[str, Variable]) -> None:
    editor.set_variable(store["db"])
    assert editor.name_label.text() == "db"
    assert "EfiImageSecurityDatabase" in editor.namespace_label.text()
    assert "d719b2cb-3d3a-4596-a3bc-dad00e67656f" in editor.namespace_label.text()
    assert editor.size_label.text().startswith("3143 bytes")
    assert editor.time_label.text() == "2026-01-04T18:19:19 UTC"
    editor.set_variable(store["Lang"])
    assert editor.time_label.text() == "—"
    editor.set_variable(None)
    assert editor.name_label.text() == "No variable selected"
    assert not editor.hex_view.isEnabled()


def test_apply_without_changes_emits_nothing(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Lang"])
    assert not editor.apply()
    line = editor.editor.line
    type_into(qtbot, line, "eng")  # the same text
    assert not editor.has_pending_changes()
    click(qtbot, editor.apply_button)
    assert emitted == []


# --- typed kinds ---------------------------------------------------------------------


def test_bool_checkbox(editor: VariableEditor, emitted: list[Variable], store, qtbot) -> None:  # type: ignore[no-untyped-def]
    var = store["SecureBootEnable"]
    editor.set_variable(var)
    typed = editor.editor
    assert isinstance(typed, BoolEditor)
    assert typed.check.isChecked()
    click(qtbot, typed.check)
    assert editor.has_pending_changes()
    assert editor.hex_view.bytes() == b"\x00"
    click(qtbot, editor.apply_button)
    assert [(v.name, v.guid, v.data, v.attributes) for v in emitted] == [
        (var.name, var.guid, b"\x00", var.attributes)
    ]
    assert not editor.has_pending_changes()


def test_integer_spin_box_timeout(editor: VariableEditor, emitted: list[Variable], store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Timeout"])
    typed = editor.editor
    assert isinstance(typed, IntegerEditor)
    assert typed.spin is not None and typed.spin.maximum() == 0xFFFF
    typed.spin.lineEdit().selectAll()
    qtbot.keyClicks(typed.spin, "5")
    assert emitted == [] and not editor.has_pending_changes()  # no commit per keystroke
    qtbot.keyClick(typed.spin, Qt.Key.Key_Return)
    assert "5 s" in typed.summary.text()
    editor.apply()
    assert emitted[-1].data == (5).to_bytes(2, "little")
    assert typed.wait_check is not None
    click(qtbot, typed.wait_check)
    typed.spin.stepBy(-1)  # arrow keys commit at once
    editor.apply()
    assert emitted[-1].data == (0xFFFE).to_bytes(2, "little")


def test_integer_uint32_accepts_the_full_range(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["MTC"])
    typed = editor.editor
    assert isinstance(typed, IntegerEditor) and typed.spin is not None
    assert typed.spin.maximum() == 0xFFFFFFFF
    typed.spin.lineEdit().selectAll()
    qtbot.keyClicks(typed.spin, "0xFFFFFFF0")
    qtbot.keyClick(typed.spin, Qt.Key.Key_Return)
    editor.apply()
    assert emitted[-1].data == b"\xf0\xff\xff\xff"


def test_integer_flags_os_indications(editor: VariableEditor, emitted: list[Variable], qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(global_var("OsIndications", bytes(8)))
    typed = editor.editor
    assert isinstance(typed, IntegerEditor)
    boxes = {box.accessibleName(): box for _, box in typed._flag_boxes}
    click(qtbot, boxes["BOOT_TO_FW_UI"])
    click(qtbot, boxes["START_PLATFORM_RECOVERY"])
    editor.apply()
    assert emitted[-1].data == (0x41).to_bytes(8, "little")
    assert "BOOT_TO_FW_UI" in typed.summary.text()


def test_integer_boot_option_support_key_count(editor: VariableEditor, emitted: list[Variable]) -> None:
    editor.set_variable(global_var("BootOptionSupport", (0x13).to_bytes(4, "little"), BS | RT))
    typed = editor.editor
    assert isinstance(typed, IntegerEditor) and typed.key_count is not None
    typed.key_count.setValue(3)
    editor.apply()
    assert emitted[-1].data == (0x313).to_bytes(4, "little")


@pytest.mark.parametrize(
    ("name", "typed_text", "expected"), [("Lang", "fra", b"fra\0"), ("PlatformLang", "fr-FR", b"fr-FR\0")]
)
def test_ascii_string(
    editor: VariableEditor, emitted: list[Variable], store, qtbot, name: str, typed_text: str, expected: bytes
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store[name])
    typed = editor.editor
    assert isinstance(typed, TextValueEditor)
    typed.line.selectAll()
    qtbot.keyClicks(typed.line, typed_text)
    assert not editor.has_pending_changes()  # keystrokes alone change nothing
    qtbot.keyClick(typed.line, Qt.Key.Key_Return)
    assert editor.hex_view.bytes() == expected
    click(qtbot, editor.apply_button)
    assert [v.data for v in emitted] == [expected]
    assert emitted[0].key == store[name].key


def test_ascii_string_refuses_non_ascii(editor: VariableEditor, store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Lang"])
    typed = editor.editor
    typed.line.setText("fré")  # QTest types ASCII only
    qtbot.keyClick(typed.line, Qt.Key.Key_Return)
    assert "not an ASCII character" in typed.error.text()
    assert not editor.has_pending_changes()


def test_ucs2_string_via_decode_as(editor: VariableEditor, emitted: list[Variable], qtbot) -> None:  # type: ignore[no-untyped-def]
    var = Variable("Title", g.OVMF_PLATFORM_CONFIG, NV_BS_RT, "hi".encode("utf-16-le") + b"\0\0")
    editor.set_variable(var)
    assert isinstance(editor.editor, HexValueEditor)
    editor.set_decode_as("ucs2")
    typed = editor.editor
    assert isinstance(typed, TextValueEditor)
    assert typed.line.text() == "hi"
    type_into(qtbot, typed.line, "hey")
    editor.apply()
    assert emitted[-1].data == "hey".encode("utf-16-le") + b"\0\0"


def test_guid_array(editor: VariableEditor, emitted: list[Variable], qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(global_var("SignatureSupport", g.EFI_CERT_SHA256.bytes_le, BS | RT))
    typed = editor.editor
    assert isinstance(typed, TextValueEditor)
    type_into(qtbot, typed.line, "EfiCertSha256, EfiCertX509")
    editor.apply()
    assert emitted[-1].data == g.EFI_CERT_SHA256.bytes_le + g.EFI_CERT_X509.bytes_le


def test_boot_order_list_reorders_and_shows_descriptions(
    editor: VariableEditor, emitted: list[Variable], qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(global_var("BootOrder", b"\x00\x00\x01\x00"))
    typed = editor.editor
    assert isinstance(typed, LoadOrderEditor)
    model = typed.model
    assert model.index(0).data() == "Boot0000  UiApp"
    assert model.index(1).data().startswith("Boot0001  UEFI QEMU HARDDISK QM00001")
    typed.list.setCurrentIndex(model.index(1))
    click(qtbot, typed.up)
    assert model.numbers() == (1, 0)
    assert typed.list.currentIndex().row() == 0
    click(qtbot, editor.apply_button)
    assert emitted[-1].data == b"\x01\x00\x00\x00"
    # a drop is a moveRows on the model (what QListView's InternalMove does)
    assert model.moveRows(QModelIndex(), 0, 1, QModelIndex(), 2)
    assert model.numbers() == (0, 1)
    editor.apply()
    assert emitted[-1].data == b"\x00\x00\x01\x00"


def test_boot_order_add_remove_and_missing_entries(
    editor: VariableEditor, emitted: list[Variable], qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(global_var("BootOrder", b"\x00\x00\x01\x00"))
    typed = editor.editor
    assert isinstance(typed, LoadOrderEditor)
    type_into(qtbot, typed.add_edit, "Boot0007")
    row = typed.model.index(2)
    assert row.data() == "Boot0007  (missing)"
    assert "does not exist" in row.data(Qt.ItemDataRole.ToolTipRole)
    assert not row.data(Qt.ItemDataRole.DecorationRole).isNull()
    typed.list.setCurrentIndex(typed.model.index(0))
    click(qtbot, typed.remove)
    editor.apply()
    assert emitted[-1].data == b"\x01\x00\x07\x00"


def test_load_order_model_passes_the_tester(qtmodeltester, store) -> None:  # type: ignore[no-untyped-def]
    model = LoadOrderModel((0, 1, 7), "Boot", store.get)
    check_model(qtmodeltester, model)
    model.moveRows(QModelIndex(), 2, 1, QModelIndex(), 0)
    check_model(qtmodeltester, model)
    check_model(qtmodeltester, LoadOrderModel())


def test_boot_option_description_flags_path_and_optional_data(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    var = store["Boot0001"]
    editor.set_variable(var)
    typed = editor.editor
    assert isinstance(typed, LoadOptionEditor)
    assert typed.description.text() == "UEFI QEMU HARDDISK QM00001 "
    assert typed.path.text.text() == "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)"
    assert typed.category.currentText() == "Boot"
    assert "BdsAutoOption" in typed.optional_meaning.text()
    assert typed.path.tree.field_model().rowCount() == 1

    type_into(qtbot, typed.description, "Disk")
    click(qtbot, typed.hidden)
    typed.category.setCurrentIndex(typed.category.findText("Application"))
    typed.category.activated.emit(typed.category.currentIndex())
    type_into(qtbot, typed.path.text, "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x1,0xFFFF,0x0)")
    type_into(qtbot, typed.optional, "01 02 03")
    click(qtbot, editor.apply_button)
    assert len(emitted) == 1
    option = loadoption.decode_load_option(emitted[0].data)
    assert option.description == "Disk"
    assert option.attributes == int(
        loadoption.LOAD_OPTION_ACTIVE | loadoption.LOAD_OPTION_HIDDEN | loadoption.LOAD_OPTION_CATEGORY_APP
    )
    assert devicepath.to_text(option.file_path) == "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x1,0xFFFF,0x0)"
    assert option.optional_data == b"\x01\x02\x03"
    assert emitted[0].attributes == var.attributes


def test_boot_option_bad_device_path_is_shown_inline(editor: VariableEditor, store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Boot0000"])
    typed = editor.editor
    assert isinstance(typed, LoadOptionEditor)
    type_into(qtbot, typed.path.text, "PciRoot(0x0)/Bogus(1)")
    assert "unknown device path node Bogus" in typed.path.error.text()
    assert not editor.has_pending_changes()


def test_boot_option_optional_text(editor: VariableEditor, emitted: list[Variable], store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Boot0000"])
    typed = editor.editor
    assert isinstance(typed, LoadOptionEditor)
    typed.optional_mode.setCurrentIndex(typed.optional_mode.findData("ucs2"))
    typed.optional_mode.activated.emit(typed.optional_mode.currentIndex())
    type_into(qtbot, typed.optional, "quiet splash")
    editor.apply()
    option = loadoption.decode_load_option(emitted[-1].data)
    assert option.optional_data == "quiet splash".encode("utf-16-le") + b"\0\0"
    assert option.description == "UiApp"


def test_key_option_crc(editor: VariableEditor, emitted: list[Variable], store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Key0000"])
    typed = editor.editor
    assert isinstance(typed, KeyOptionEditor)
    assert typed.combo.text() == "F2"
    assert typed.target_description.text() == '"UiApp"'
    assert typed.crc_status.text() == ""
    assert not typed.recompute.isEnabled()
    typed.target.lineEdit().selectAll()
    qtbot.keyClicks(typed.target, "0x1")
    qtbot.keyClick(typed.target, Qt.Key.Key_Return)
    assert "does not match Boot0001" in typed.crc_status.text()
    click(qtbot, typed.recompute)
    editor.apply()
    key = loadoption.decode_key_option(emitted[-1].data)
    assert key.boot_option == 1
    assert key.boot_option_crc == crc32(store["Boot0001"].data)


def test_device_path_variable(editor: VariableEditor, emitted: list[Variable], store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["ConOut"])
    typed = editor.editor
    assert isinstance(typed, DevicePathEditor)
    count = len(devicepath.instances(devicepath.decode(store["ConOut"].data)))
    assert count > 1
    assert typed.instances.text() == f"{count} instances"
    first = typed.path.text.text().split(",")[0]
    type_into(qtbot, typed.path.text, first)
    editor.apply()
    assert emitted[-1].data == devicepath.encode(devicepath.parse_text(first))
    assert typed.instances.text() == "1 instance"


# --- signature lists ------------------------------------------------------------------


def test_signature_table_marks_expired_microsoft_2011_certificates(editor: VariableEditor, store) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["db"])
    typed = editor.editor
    assert isinstance(typed, SignatureListEditor)
    model = typed.model
    subjects = [model.index(r, SignatureColumn.SUBJECT).data() for r in range(model.rowCount())]
    assert subjects == ["Microsoft Windows Production PCA 2011", "Microsoft Corporation UEFI CA 2011"]
    assert model.index(0, SignatureColumn.OWNER).data() == "MicrosoftVendor"
    assert model.index(0, SignatureColumn.TYPE).data() == "X.509"
    for row in range(2):
        assert model.index(row, 0).data(STATUS_ROLE).startswith("expired on 2026-")
        assert not model.index(row, SignatureColumn.SUBJECT).data(Qt.ItemDataRole.DecorationRole).isNull()
        assert model.index(row, SignatureColumn.NOT_AFTER).data().endswith("(expired)")
    editor.set_reference_time(EARLIER)
    assert typed.model.index(0, 0).data(STATUS_ROLE) == ""
    assert typed.model.index(0, SignatureColumn.SUBJECT).data(Qt.ItemDataRole.DecorationRole) is None


def test_signature_table_kek_mixes_valid_and_expired(editor: VariableEditor, store) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["KEK"])
    model = editor.editor.model
    status = {
        model.index(r, SignatureColumn.SUBJECT).data(): model.index(r, 0).data(STATUS_ROLE) for r in range(2)
    }
    assert status["Debian UEFI Secure Boot (PK/KEK key)"] == ""
    assert status["Microsoft Corporation KEK CA 2011"].startswith("expired")


def test_signature_remove_selected(editor: VariableEditor, emitted: list[Variable], store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["db"])
    typed = editor.editor
    assert isinstance(typed, SignatureListEditor)
    keep = typed.model.entry(1).data
    typed.table.selectRow(0)
    click(qtbot, typed.remove)
    assert typed.model.rowCount() == 1
    click(qtbot, editor.apply_button)
    database = siglist.decode_signature_database(emitted[-1].data)
    assert database.certificates() == (keep,)
    assert emitted[-1].attributes == store["db"].attributes


def test_signature_add_certificate_files(
    editor: VariableEditor, emitted: list[Variable], store, qtbot, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["db"])
    typed = editor.editor
    assert isinstance(typed, SignatureListEditor)
    chosen = iter(
        [str(CERTS / "ms-uefi-ca-2023.der"), str(CERTS / "debian-2016.pem"), str(CERTS / "debian-2016.pem")]
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (next(chosen), "")))
    click(qtbot, typed.add_cert)
    typed.owner.setCurrentText(str(g.OVMF_ENROLL_DEFAULT_KEYS))
    click(qtbot, typed.add_cert)
    click(qtbot, typed.add_cert)  # the same certificate again: refused
    assert "already in the database" in typed.error.text()
    editor.apply()
    database = siglist.decode_signature_database(emitted[-1].data)
    entries = list(database.entries())
    assert len(entries) == 4
    assert entries[2].data == load_certificate_file(CERTS / "ms-uefi-ca-2023.der")
    assert entries[2].owner == g.MICROSOFT_VENDOR
    assert entries[3].data == load_certificate_file(CERTS / "debian-2016.pem")
    assert entries[3].owner == g.OVMF_ENROLL_DEFAULT_KEYS
    assert len(database.lists) == 4  # one list per certificate


def test_signature_add_hash_joins_the_sha256_list(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["dbx"])
    typed = editor.editor
    assert isinstance(typed, SignatureListEditor)
    digest = bytes(range(32))
    type_into(qtbot, typed.hash_edit, digest.hex())
    type_into(qtbot, typed.hash_edit, "abcd")
    assert "32 bytes" in typed.error.text()
    editor.apply()
    database = siglist.decode_signature_database(emitted[-1].data)
    assert len(database.lists) == 1
    assert [e.data for e in database.entries()][-1] == digest
    assert typed.model.index(1, SignatureColumn.SUBJECT).data() == digest.hex()


def test_signature_export_pem_and_der(editor: VariableEditor, store, qtbot, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["KEK"])
    typed = editor.editor
    assert isinstance(typed, SignatureListEditor)
    der = typed.model.entry(1).data
    typed.table.selectRow(1)
    answers = iter([(str(tmp_path / "kek.pem"), PEM_FILTER), (str(tmp_path / "kek.cer"), DER_FILTER)])
    asked: list[str] = []

    def fake_save(parent, caption, name, filters):  # type: ignore[no-untyped-def]
        asked.append(name)
        return next(answers)

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    click(qtbot, typed.export)
    click(qtbot, typed.export)
    assert asked[0] == "Microsoft-Corporation-KEK-CA-2011.pem"
    assert (tmp_path / "kek.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert load_certificate_file(tmp_path / "kek.pem") == der
    assert (tmp_path / "kek.cer").read_bytes() == der


def test_double_click_opens_certificate_details(
    editor: VariableEditor, store, qtbot, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["db"])
    typed = editor.editor
    assert isinstance(typed, SignatureListEditor)
    index = typed.model.index(1, SignatureColumn.SUBJECT)
    rect = typed.table.visualRect(index)
    qtbot.mouseClick(typed.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(typed.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dialog = typed.certificate_dialog
    assert isinstance(dialog, CertificateDialog)
    assert dialog.isVisible()
    assert "CN=Microsoft Corporation UEFI CA 2011" in dialog.values["Subject"].text()
    assert dialog.values["Status"].text().startswith("Expired on 2026-06-27")
    assert dialog.values["SHA-256 fingerprint"].text() == typed.model.summary(1).sha256
    assert dialog.values["Owner"].text() == "MicrosoftVendor"
    assert dialog.values["Public key"].text() == "RSA 2048"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(tmp_path / "ca.der"), DER_FILTER))
    )
    click(qtbot, dialog.export_der)
    assert (tmp_path / "ca.der").read_bytes() == typed.model.entry(1).data
    dialog.reject()


def test_signature_entry_model_passes_the_tester(qtmodeltester, store) -> None:  # type: ignore[no-untyped-def]
    for name in ("db", "dbx", "KEK", "PK"):
        database = siglist.decode_signature_database(store[name].data)
        check_model(qtmodeltester, SignatureEntryModel(database, at=LATER))
    check_model(qtmodeltester, SignatureEntryModel())


# --- policies, hex fallback --------------------------------------------------------------

POLICIES = (
    VariablePolicyEntry(g.EFI_GLOBAL_VARIABLE, "SecureBoot", 1, 1, int(BS | RT), 0, LockPolicyType.LOCK_NOW),
    VariablePolicyEntry(g.SHIM_LOCK, None, lock_policy_type=LockPolicyType.NO_LOCK),
    VariablePolicyEntry(
        g.EFI_GLOBAL_VARIABLE, "Boot####", max_size=0, lock_policy_type=LockPolicyType.LOCK_ON_CREATE
    ),
)


def test_policy_table_is_read_only(editor: VariableEditor, qtbot) -> None:  # type: ignore[no-untyped-def]
    data = encode_policy_table(POLICIES)
    editor.set_variable(Variable("Policies", g.VAR_CHECK_POLICY_MMI_HANDLER, BS, data))
    editor.set_decode_as("policy")
    typed = editor.editor
    assert isinstance(typed, PolicyTableEditor)
    model = typed.model
    assert model.rowCount() == 3
    assert model.index(0, 1).data() == "SecureBoot"
    assert model.index(0, 6).data() == "LOCK_NOW"
    assert model.index(0, 4).data() == "BS|RT"
    assert model.index(1, 1).data() == "(whole namespace)"
    assert model.index(0, PolicyColumn.EXPLANATION).data() == POLICIES[0].explain()
    assert "MaxSize is 0" in model.index(2, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable
    typed.table.selectRow(1)
    assert editor.hex_view.highlighted() == (POLICIES[0].size, POLICIES[1].size)


def test_policy_model_passes_the_tester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    from uefivars_gui.core.typed import PolicyTableValue

    check_model(qtmodeltester, PolicyEntryModel(PolicyTableValue(POLICIES)))
    check_model(qtmodeltester, PolicyEntryModel())


def test_hex_fallback_text(editor: VariableEditor, emitted: list[Variable], store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["MemoryTypeInformation"])
    typed = editor.editor
    assert isinstance(typed, HexValueEditor)
    typed.text.setPlainText("00 01\n02")
    click(qtbot, typed.set_button)
    editor.apply()
    assert emitted[-1].data == b"\x00\x01\x02"


def test_malformed_known_variable_falls_back_to_hex_with_warning(editor: VariableEditor) -> None:
    editor.set_variable(global_var("Timeout", b"\x01\x02\x03"))
    typed = editor.editor
    assert isinstance(typed, HexValueEditor)
    assert "expected 2 bytes" in typed.warning.text()
    assert "Size 3 is above the maximum 2" in editor.warnings.text()


# --- hex editing and linked panes ---------------------------------------------------------


def test_hex_edit_updates_typed_view_and_applies(
    editor: VariableEditor, emitted: list[Variable], store
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Lang"])
    model = editor.hex_view.hex_model()
    assert model.setData(model.index(0, 0), "66")
    typed = editor.editor
    assert isinstance(typed, TextValueEditor)
    assert typed.line.text() == "fng"
    assert editor.field_tree.root() is not None and editor.field_tree.root().text == '"fng"'
    editor.hex_view.select_byte(3)
    editor.hex_view.insert_action.trigger()  # "fng" + 00 + 00
    editor.apply()
    assert emitted[-1].data == b"fng\0\0"


def test_hex_edit_that_breaks_the_type_switches_to_hex(editor: VariableEditor) -> None:
    editor.set_variable(global_var("Timeout", b"\x05\x00"))
    assert isinstance(editor.editor, IntegerEditor)
    editor.hex_view.append_byte()
    assert isinstance(editor.editor, HexValueEditor)
    editor.hex_view.select_byte(2)
    editor.hex_view.delete_selection()
    assert isinstance(editor.editor, IntegerEditor)


def test_field_selection_highlights_bytes_and_byte_click_selects_field(
    editor: VariableEditor, store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Boot0001"])
    tree = editor.field_tree
    root = tree.root()
    assert root is not None
    description = root.find("Description")
    assert description is not None
    tree.select_field(description)
    assert editor.hex_view.highlighted() == (description.offset, description.length)

    # a click on byte 0x51 (inside the SATA node's header) selects the deepest field there
    hex_view = editor.hex_view
    index = hex_view.hex_model().index_of(0x51)
    qtbot.mouseClick(hex_view.viewport(), Qt.MouseButton.LeftButton, pos=hex_view.visualRect(index).center())
    deepest = root.deepest_at(0x51)
    assert deepest is not None and deepest.name == "SubType"
    assert tree.current_field() is deepest
    assert hex_view.highlighted() == (deepest.offset, deepest.length)
    # the typed view's device path tree follows
    typed = editor.editor
    assert isinstance(typed, LoadOptionEditor)
    assert typed.path.tree.current_field() is not None
    assert typed.path.tree.current_field().offset == 0x51


def test_typed_view_selection_highlights_bytes(editor: VariableEditor, store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["KEK"])
    typed = editor.editor
    assert isinstance(typed, SignatureListEditor)
    typed.table.selectRow(1)
    entry = typed.model.entry(1)
    assert editor.hex_view.highlighted() == (entry.offset, entry.signature.size)
    assert editor.field_tree.current_field() is not None
    assert editor.field_tree.current_field().name == "Signature[0]"
    # and a byte inside the first certificate selects its row
    index = editor.hex_view.hex_model().index_of(typed.model.entry(0).offset + 40, ascii=True)
    editor.hex_view.scrollTo(index)
    qtbot.mouseClick(
        editor.hex_view.viewport(), Qt.MouseButton.LeftButton, pos=editor.hex_view.visualRect(index).center()
    )
    assert typed.selected_rows() == [0]


def test_boot_order_row_selection_highlights_its_entry(editor: VariableEditor) -> None:
    editor.set_variable(global_var("BootOrder", b"\x00\x00\x01\x00\x02\x00"))
    typed = editor.editor
    assert isinstance(typed, LoadOrderEditor)
    typed.list.setCurrentIndex(typed.model.index(2))
    assert editor.hex_view.highlighted() == (4, 2)
    editor.hex_view.select_byte(2)
    assert typed.selected_row() == 1


# --- attributes ----------------------------------------------------------------------------


def test_attribute_warnings() -> None:
    assert any("RT without BS" in w for w in attribute_warnings(int(NV | RT)))
    assert any("NV alone" in w for w in attribute_warnings(int(NV)))
    assert any("AT together with AW" in w for w in attribute_warnings(int(NV | BS | AT | AW)))
    assert attribute_warnings(int(NV | BS | RT)) == []


def test_attribute_boxes_and_inline_warnings(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    var = store["Boot0000"]
    editor.set_variable(var)
    assert editor.warnings.text() == ""
    boxes = editor.attributes.boxes
    assert [boxes[int(b)].isChecked() for b in (NV, BS, RT, HR, AT)] == [True, True, True, False, False]
    click(qtbot, boxes[int(BS)])
    assert "RT without BS" in editor.warnings.text()
    assert "differ from the expected NV|BS|RT" in editor.warnings.text()
    click(qtbot, boxes[int(BS)])
    click(qtbot, boxes[int(HR)])
    assert "HR outside HwErrRec####" in editor.warnings.text()
    click(qtbot, boxes[int(HR)])
    assert not editor.has_pending_changes()
    click(qtbot, boxes[int(NV)])
    editor.apply()
    assert emitted[-1].attributes == BS | RT
    assert emitted[-1].data == var.data


def test_attribute_warnings_for_at_aw_and_nv_alone(editor: VariableEditor, store, qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["db"].evolve(attributes=NV | BS | RT | AT | AW))
    assert "AT together with AW" in editor.warnings.text()
    editor.set_variable(Variable("Mine", g.OVMF_PLATFORM_CONFIG, NV, b"x"))
    assert "NV alone" in editor.warnings.text()


# --- read-only, auto apply, echo, revert ------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["SecureBootEnable", "Timeout", "Lang", "Boot0001", "db", "ConOut", "Key0000", "MemoryTypeInformation"],
)
def test_read_only_disables_editing(
    editor: VariableEditor, emitted: list[Variable], store, name: str
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store[name], read_only=True)
    assert editor.editor is not None and editor.editor.is_read_only()
    assert not any(box.isEnabled() for box in editor.attributes.boxes.values())
    assert not editor.apply_button.isVisible()
    assert editor.hex_view.is_read_only()
    model = editor.hex_view.hex_model()
    assert not model.setData(model.index(0, 0), "AA")
    typed = editor.editor
    if isinstance(typed, BoolEditor):
        assert not typed.check.isEnabled()
    elif isinstance(typed, IntegerEditor):
        assert typed.spin is not None and typed.spin.isReadOnly()
    elif isinstance(typed, TextValueEditor):
        assert typed.line.isReadOnly()
    elif isinstance(typed, LoadOptionEditor):
        assert (
            typed.description.isReadOnly() and typed.path.text.isReadOnly() and not typed.active.isEnabled()
        )
    elif isinstance(typed, SignatureListEditor):
        typed.table.selectRow(0)
        assert not typed.remove.isEnabled() and not typed.add_cert.isEnabled()
        assert typed.export.isEnabled()  # exporting changes nothing
        assert not typed.remove_selected()
    elif isinstance(typed, DevicePathEditor):
        assert typed.path.text.isReadOnly()
    elif isinstance(typed, KeyOptionEditor):
        assert typed.target.isReadOnly() and not typed.recompute.isEnabled()
    elif isinstance(typed, HexValueEditor):
        assert typed.text.isReadOnly()
    assert not editor.apply()
    assert emitted == []


def test_read_only_boot_order(editor: VariableEditor) -> None:
    editor.set_variable(global_var("BootOrder", b"\x00\x00\x01\x00"), read_only=True)
    typed = editor.editor
    assert isinstance(typed, LoadOrderEditor)
    typed.list.setCurrentIndex(typed.model.index(1))
    assert not typed.up.isEnabled() and not typed.remove.isEnabled()
    assert not typed.move_selected(-1)
    assert typed.model.numbers() == (0, 1)


def test_auto_apply_emits_on_each_committed_edit(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_auto_apply(True)
    editor.set_variable(store["SecureBootEnable"])
    assert not editor.apply_button.isVisible()
    click(qtbot, editor.editor.check)
    click(qtbot, editor.editor.check)
    assert [v.data for v in emitted] == [b"\x00", b"\x01"]


def test_host_echo_keeps_the_widgets_and_revert_restores(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["Lang"])
    typed = editor.editor
    type_into(qtbot, typed.line, "deu")
    editor.apply()
    editor.set_variable(emitted[-1])  # the host writes it and shows it again
    assert editor.editor is typed
    type_into(qtbot, typed.line, "spa")
    assert editor.has_pending_changes()
    click(qtbot, editor.revert_button)
    assert editor.editor.line.text() == "deu"
    assert editor.hex_view.bytes() == b"deu\0"
    assert not editor.has_pending_changes()


def test_ctrl_return_applies_the_focused_line_edit(
    editor: VariableEditor, emitted: list[Variable], store, qtbot
) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(store["PlatformLang"])
    line = editor.editor.line
    editor.activateWindow()
    line.setFocus()
    qtbot.waitUntil(line.hasFocus, timeout=1000)
    line.selectAll()
    qtbot.keyClicks(line, "de")
    assert not editor.has_pending_changes()
    qtbot.keyClick(line, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert emitted[-1].data == b"de\0"


def test_every_variable_of_the_store_opens(editor: VariableEditor, store) -> None:  # type: ignore[no-untyped-def]
    for var in store.values():
        editor.set_variable(var)
        assert editor.editor is not None
        assert editor.hex_view.bytes() == var.data
        assert editor.field_tree.root() is not None
    assert isinstance(editor.hex_view.hex_model().index(0, ASCII_COLUMN).data(), str)


def test_every_input_has_an_accessible_name(editor: VariableEditor, store) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QAbstractSpinBox,
        QComboBox,
        QLineEdit,
        QPlainTextEdit,
    )

    samples = [*store.values(), global_var("BootOrder", b"\x00\x00"), global_var("OsIndications", bytes(8))]
    for var in samples:
        editor.set_variable(var)
        for widget in editor.findChildren(QWidget):
            if not widget.isVisibleTo(editor):
                continue
            if isinstance(widget, QHeaderView) or widget.objectName().startswith("qt_"):
                continue  # Qt's own parts of item views
            if isinstance(widget, QAbstractButton):
                assert widget.text() or widget.accessibleName(), (var.name, widget)
            elif isinstance(widget, QLineEdit) and isinstance(widget.parent(), QAbstractSpinBox | QComboBox):
                continue  # named through their spin box / combo box
            elif isinstance(
                widget, QLineEdit | QComboBox | QAbstractSpinBox | QPlainTextEdit | QAbstractItemView
            ):
                assert widget.accessibleName(), (var.name, type(widget).__name__, widget.objectName())


def test_boot_order_keyboard_shortcuts(editor: VariableEditor, emitted: list[Variable], qtbot) -> None:  # type: ignore[no-untyped-def]
    editor.set_variable(global_var("BootOrder", b"\x00\x00\x01\x00"))
    typed = editor.editor
    assert isinstance(typed, LoadOrderEditor)
    editor.activateWindow()
    typed.list.setFocus()
    qtbot.waitUntil(typed.list.hasFocus, timeout=1000)
    typed.list.setCurrentIndex(typed.model.index(0))
    qtbot.keyClick(typed.list, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert typed.model.numbers() == (1, 0)
    qtbot.keyClick(typed.list, Qt.Key.Key_Delete)
    assert typed.model.numbers() == (1,)
    editor.apply()
    assert emitted[-1].data == b"\x01\x00"
