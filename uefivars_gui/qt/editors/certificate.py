"""Certificate details dialog and certificate export (file dialogs via QFileDialog statics)."""

from __future__ import annotations

import datetime as dt
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...crypto import keys, x509
from ...crypto.x509 import CertificateSummary
from ...errors import UefiVarsError
from .base import MessageLabel

PEM_FILTER = "PEM certificate (*.pem *.crt)"
DER_FILTER = "DER certificate (*.der *.cer)"


def certificate_status(summary: CertificateSummary, at: dt.datetime | None = None) -> str | None:
    """``expired on ...`` / ``not valid before ...`` or None while valid."""
    if summary.expired(at):
        return f"expired on {summary.not_after:%Y-%m-%d}"
    if summary.not_yet_valid(at):
        return f"not valid before {summary.not_before:%Y-%m-%d}"
    return None


def suggested_file_name(summary: CertificateSummary | None, extension: str) -> str:
    base = summary.name if summary is not None else "certificate"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-") or "certificate"
    return f"{cleaned}.{extension}"


def export_certificate(parent: QWidget | None, der: bytes, pem: bool | None = None) -> str | None:
    """Ask for a file name (QFileDialog.getSaveFileName) and write ``der`` as PEM or DER.

    ``pem`` None lets the chosen filter / extension decide. Returns the path written, None
    when the user cancelled; raises UefiVarsError / OSError when writing fails.
    """
    try:
        summary: CertificateSummary | None = x509.summarize(der)
    except UefiVarsError:
        summary = None
    filters = f"{PEM_FILTER};;{DER_FILTER}" if pem is not False else f"{DER_FILTER};;{PEM_FILTER}"
    default = suggested_file_name(summary, "der" if pem is False else "pem")
    path, chosen = QFileDialog.getSaveFileName(parent, "Export certificate", default, filters)
    if not path:
        return None
    if pem is None:
        lowered = path.lower()
        if lowered.endswith((".der", ".cer")):
            pem = False
        elif lowered.endswith((".pem", ".crt")):
            pem = True
        else:
            pem = chosen != DER_FILTER
    keys.write_certificate(path, der, pem=pem, overwrite=True)
    return path


class CertificateDialog(QDialog):
    """The full summary of one certificate, with Export buttons."""

    def __init__(
        self,
        der: bytes,
        owner: str = "",
        at: dt.datetime | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.der = bytes(der)
        self.setAccessibleName("Certificate details")
        self.message = MessageLabel(self, "Certificate status")
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        try:
            summary: CertificateSummary | None = x509.summarize(self.der)
        except UefiVarsError as exc:
            summary = None
            self.message.set_text(f"Not a certificate: {exc}")
        self.summary = summary
        self.setWindowTitle(f"Certificate: {summary.name}" if summary else "Certificate")
        if summary is not None:
            status = certificate_status(summary, at)
            kind = [
                part for part, flag in (("CA", summary.is_ca), ("self-signed", summary.self_signed)) if flag
            ]
            rows = [
                ("Subject", summary.subject),
                ("Issuer", summary.issuer),
                ("Serial number", summary.serial),
                ("Valid from", f"{summary.not_before:%Y-%m-%d %H:%M:%S} UTC"),
                ("Valid until", f"{summary.not_after:%Y-%m-%d %H:%M:%S} UTC"),
                ("Status", status.capitalize() if status else "Valid"),
                ("Public key", summary.key_description),
                ("Kind", ", ".join(kind) or "end entity"),
                ("SHA-256 fingerprint", summary.sha256),
            ]
            if owner:
                rows.insert(0, ("Owner", owner))
            for label, text in rows:
                value = QLabel(text, self)
                value.setWordWrap(True)
                value.setTextInteractionFlags(
                    Qt.TextInteractionFlag.TextSelectableByMouse
                    | Qt.TextInteractionFlag.TextSelectableByKeyboard
                )
                value.setAccessibleName(label)
                form.addRow(f"{label}:", value)
                self.values[label] = value
            if status:
                self.message.set_text(f"This certificate {status}.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.export_pem = QPushButton("Export &PEM…", self)
        self.export_der = QPushButton("Export &DER…", self)
        buttons.addButton(self.export_pem, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.export_der, QDialogButtonBox.ButtonRole.ActionRole)
        self.export_pem.clicked.connect(lambda: self._export(True))
        self.export_der.clicked.connect(lambda: self._export(False))
        buttons.rejected.connect(self.reject)
        self.export_error = MessageLabel(self, "Export error")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.export_error)
        layout.addWidget(buttons)
        self.last_export: str | None = None

    def _export(self, pem: bool) -> None:
        try:
            self.last_export = export_certificate(self, self.der, pem) or self.last_export
        except (UefiVarsError, OSError) as exc:
            self.export_error.set_text(f"Export failed: {exc}")
        else:
            self.export_error.clear()
