"""The fallback for values without a typed editor: the bytes as editable hex text."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.typed import HexValue, TypedValue
from .base import MessageLabel, TypedEditor
from .scalar import _PlainTextEdit

#: Above this size the text box is left out: edit in the hex view.
TEXT_LIMIT = 4096


class HexValueEditor(TypedEditor):
    """Shows why the value has no typed view (or did not decode), a text guess, and the
    bytes as hex text to paste over (Set bytes / Ctrl+Return applies)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.warning = MessageLabel(self, "Decode warning")
        self.guess = QLabel(self)
        self.guess.setWordWrap(True)
        self.guess.setAccessibleName("Text guess")
        self.text = _PlainTextEdit(self)
        self.text.setAccessibleName("Bytes in hex")
        self.text.setTabChangesFocus(True)
        self.text.editing_finished.connect(self.apply_text)
        self.set_button = QPushButton("&Set bytes", self)
        self.set_button.setToolTip("Replace the data with the hex text (Ctrl+Return)")
        self.set_button.clicked.connect(self.apply_text)
        self.too_large = QLabel(f"More than {TEXT_LIMIT} bytes: edit them in the hex view below.", self)
        self.too_large.setWordWrap(True)
        self._shown = ""
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.set_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.warning)
        layout.addWidget(self.guess)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)
        layout.addWidget(self.too_large)
        layout.addWidget(self.error)

    @staticmethod
    def format(data: bytes) -> str:
        return "\n".join(data[i : i + 16].hex(" ").upper() for i in range(0, len(data), 16))

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, HexValue)
        self.warning.set_text(f"Malformed data: {value.warning}" if value.warning else "")
        guess = value.text_guess()
        self.guess.setText(f"As text: {value.summary()}" if guess is not None else "")
        small = len(value.data) <= TEXT_LIMIT
        self.text.setVisible(small)
        self.set_button.setVisible(small)
        self.too_large.setVisible(not small)
        self._shown = self.format(value.data) if small else ""
        if small and self.text.toPlainText() != self._shown:
            self.text.setPlainText(self._shown)

    def update_read_only(self, read_only: bool) -> None:
        self.text.setReadOnly(read_only)
        self.set_button.setEnabled(not read_only)

    def apply_text(self) -> None:
        if self._read_only or not self.text.isVisibleTo(self):
            return
        text = self.text.toPlainText()
        if text == self._shown:
            return
        try:
            data = bytes.fromhex(text.replace(":", " "))
        except ValueError as exc:
            self.show_error(f"Not hex: {exc}")
            return
        new = HexValue(data)
        if self.commit(new):
            self._shown = self.format(data)
