"""EFI_LOAD_OPTION (Boot####, Driver####, SysPrep####, PlatformRecovery####) and
EFI_KEY_OPTION (Key####).

Layout (UEFI spec "Load Options", ``#pragma pack(1)``)::

    UINT32  Attributes
    UINT16  FilePathListLength
    CHAR16  Description[]          NUL-terminated, not aligned
    EFI_DEVICE_PATH FilePathList[] FilePathListLength bytes
    UINT8   OptionalData[]         the rest

Decoding keeps the FilePathList bytes as they were (``file_path_raw``), so a load option
whose device path is malformed still decodes (with ``file_path_error`` set) and every
option that decodes encodes back to the identical bytes.
"""

from __future__ import annotations

import re
import struct
from enum import IntFlag
from uuid import UUID

from ..errors import DecodeError, EncodeError
from . import devicepath
from .crc import crc32
from .devicepath import DevicePath
from .fields import Field
from .guid import KNOWN_GUIDS
from .record import field, value
from .scalars import guess_text, quote_text
from .ucs2 import encode_ucs2, read_ucs2z


class LoadOptionAttributes(IntFlag):
    """LOAD_OPTION_* bits of EFI_LOAD_OPTION.Attributes."""

    ACTIVE = 0x00000001
    FORCE_RECONNECT = 0x00000002
    HIDDEN = 0x00000008
    CATEGORY_APP = 0x00000100


LOAD_OPTION_ACTIVE = LoadOptionAttributes.ACTIVE
LOAD_OPTION_FORCE_RECONNECT = LoadOptionAttributes.FORCE_RECONNECT
LOAD_OPTION_HIDDEN = LoadOptionAttributes.HIDDEN
LOAD_OPTION_CATEGORY = 0x00001F00
LOAD_OPTION_CATEGORY_BOOT = 0x00000000
LOAD_OPTION_CATEGORY_APP = LoadOptionAttributes.CATEGORY_APP

#: Variable name prefixes of load options (each followed by 4 upper-case hex digits).
LOAD_OPTION_PREFIXES = ("Boot", "Driver", "SysPrep", "PlatformRecovery")
# Compiled on first use (re caches them): start-up time.
_LOAD_OPTION_NAME = r"^(Boot|Driver|SysPrep|PlatformRecovery)([0-9A-F]{4})$"
_KEY_OPTION_NAME = r"^Key([0-9A-F]{4})$"

_HEADER = struct.Struct("<IH")


def is_load_option_name(name: str) -> bool:
    """True for ``Boot0001``, ``Driver000A``, ``SysPrep0000``, ``PlatformRecovery0000``
    (exactly four upper-case hex digits, as edk2 checks and writes them)."""
    return re.match(_LOAD_OPTION_NAME, name) is not None


def parse_load_option_name(name: str) -> tuple[str, int] | None:
    """``("Boot", 10)`` for ``Boot000A``; None for anything else."""
    match = re.match(_LOAD_OPTION_NAME, name)
    return (match.group(1), int(match.group(2), 16)) if match else None


def load_option_name(prefix: str, number: int) -> str:
    """``Boot000A`` for ("Boot", 10), upper-case like edk2's ``%04x``."""
    if prefix not in LOAD_OPTION_PREFIXES and prefix != "Key":
        raise EncodeError(f"not a load option prefix: {prefix!r}")
    if not 0 <= number <= 0xFFFF:
        raise EncodeError(f"load option number out of range: {number}")
    return f"{prefix}{number:04X}"


def is_key_option_name(name: str) -> bool:
    return re.match(_KEY_OPTION_NAME, name) is not None


def format_load_option_attributes(value: int) -> str:
    """``active, hidden, app``; ``inactive`` when LOAD_OPTION_ACTIVE is clear."""
    parts = ["active" if value & LOAD_OPTION_ACTIVE else "inactive"]
    if value & LOAD_OPTION_FORCE_RECONNECT:
        parts.append("force-reconnect")
    if value & LOAD_OPTION_HIDDEN:
        parts.append("hidden")
    category = value & LOAD_OPTION_CATEGORY
    if category == LOAD_OPTION_CATEGORY_APP:
        parts.append("app")
    elif category:
        parts.append(f"category 0x{category:X}")
    rest = value & ~(
        LOAD_OPTION_ACTIVE | LOAD_OPTION_FORCE_RECONNECT | LOAD_OPTION_HIDDEN | LOAD_OPTION_CATEGORY
    )
    if rest:
        parts.append(f"0x{rest:X}")
    return ", ".join(parts)


def optional_data_text(data: bytes) -> str:
    """How OptionalData is shown: a known GUID, UCS-2 text, or hex."""
    if not data:
        return ""
    if len(data) == 16:
        guid = UUID(bytes_le=bytes(data))
        name = KNOWN_GUIDS.get(guid)
        if name:
            return f"{str(guid).upper()} ({name})"
    guess = guess_text(data)
    if guess is not None:
        encoding, text = guess
        return quote_text(text) if encoding == "ucs2" else "ascii " + quote_text(text)
    return bytes(data).hex().upper()


def _summary_optional(data: bytes, limit: int = 32) -> str:
    text = optional_data_text(data)
    if len(text) > 2 * limit and '"' not in text:
        text = text[: 2 * limit] + f"... ({len(data)} bytes)"
    return text


@value
class LoadOption:
    """One EFI_LOAD_OPTION.

    Build a new one with ``LoadOption(attributes, description, file_path)``:
    ``file_path_raw`` is then computed. A decoded option carries both; when its
    FilePathList does not decode, ``file_path`` is empty and ``file_path_error`` says why.
    Use :meth:`with_file_path` (not ``dataclasses.replace``) to change the path.
    """

    attributes: int
    description: str
    file_path: DevicePath = ()
    optional_data: bytes = b""
    file_path_raw: bytes = field(default=b"")
    file_path_error: str | None = None

    def __post_init__(self) -> None:
        if not self.file_path_raw and self.file_path:
            object.__setattr__(self, "file_path_raw", devicepath.encode(self.file_path))
        elif self.file_path and devicepath.encode(self.file_path) != self.file_path_raw:
            raise EncodeError("LoadOption: file_path and file_path_raw disagree (use with_file_path)")

    @property
    def kind(self) -> str:
        return "loadoption"

    @property
    def flags(self) -> LoadOptionAttributes:
        return LoadOptionAttributes(self.attributes)

    @property
    def active(self) -> bool:
        return bool(self.attributes & LOAD_OPTION_ACTIVE)

    @property
    def hidden(self) -> bool:
        return bool(self.attributes & LOAD_OPTION_HIDDEN)

    @property
    def category(self) -> int:
        return self.attributes & LOAD_OPTION_CATEGORY

    @property
    def file_path_text(self) -> str:
        if self.file_path_error is not None or not self.file_path:
            return f"<invalid device path: {self.file_path_error}>" if self.file_path_error else "<none>"
        return devicepath.to_text(self.file_path)

    @property
    def optional_data_guid(self) -> UUID | None:
        """The GUID in OptionalData when it is exactly 16 bytes (BDS auto-created options)."""
        return UUID(bytes_le=self.optional_data) if len(self.optional_data) == 16 else None

    def with_file_path(self, path: DevicePath) -> LoadOption:
        return LoadOption(self.attributes, self.description, path, self.optional_data)

    def with_attributes(self, attributes: int) -> LoadOption:
        return LoadOption(
            LoadOptionAttributes(attributes),
            self.description,
            self.file_path,
            self.optional_data,
            self.file_path_raw,
            self.file_path_error,
        )

    def to_bytes(self) -> bytes:
        if not 0 <= self.attributes <= 0xFFFFFFFF:
            raise EncodeError(f"load option attributes out of range: {self.attributes:#x}")
        raw = self.file_path_raw
        if len(raw) > 0xFFFF:
            raise EncodeError(f"FilePathList too long ({len(raw)} bytes)")
        return (
            _HEADER.pack(self.attributes, len(raw)) + encode_ucs2(self.description) + raw + self.optional_data
        )

    def summary(self) -> str:
        text = (
            f'"{self.description}" {self.file_path_text} [{format_load_option_attributes(self.attributes)}]'
        )
        if self.optional_data:
            text += " + " + _summary_optional(self.optional_data)
        return text

    def fields(self) -> Field:
        desc_size = len(encode_ucs2(self.description))
        fp_offset = 6 + desc_size
        raw = self.file_path_raw
        if self.file_path_error is None and self.file_path:
            fp_field = devicepath.path_fields(self.file_path, fp_offset, "FilePathList")
        else:
            fp_field = Field(
                "FilePathList",
                fp_offset,
                len(raw),
                raw.hex().upper(),
                warning=self.file_path_error or "empty device path",
            )
        children = [
            Field(
                "Attributes",
                0,
                4,
                f"0x{self.attributes:08X} ({format_load_option_attributes(self.attributes)})",
            ),
            Field("FilePathListLength", 4, 2, str(len(raw))),
            Field("Description", 6, desc_size, f'"{self.description}"'),
            fp_field,
        ]
        if self.optional_data:
            children.append(
                Field(
                    "OptionalData",
                    fp_offset + len(raw),
                    len(self.optional_data),
                    optional_data_text(self.optional_data),
                )
            )
        total = fp_offset + len(raw) + len(self.optional_data)
        return Field("LoadOption", 0, total, self.summary(), tuple(children))


def decode_load_option(data: bytes) -> LoadOption:
    """Decode EFI_LOAD_OPTION. Structural errors raise DecodeError; a malformed device
    path only sets ``file_path_error`` (the option still round-trips)."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise DecodeError(f"load option shorter than 6 bytes ({len(data)})", len(data), what="load option")
    attributes, fp_length = _HEADER.unpack_from(data)
    description, desc_size = read_ucs2z(data, 6, what="Description")
    fp_offset = 6 + desc_size
    if fp_offset + fp_length > len(data):
        raise DecodeError(
            f"FilePathListLength {fp_length} runs past the end of the data "
            f"({len(data) - fp_offset} bytes left)",
            4,
            what="load option",
        )
    raw = data[fp_offset : fp_offset + fp_length]
    error: str | None = None
    path: DevicePath = ()
    try:
        path = devicepath.decode(raw, fp_offset)
    except DecodeError as exc:
        error = str(exc)
    return LoadOption(
        LoadOptionAttributes(attributes), description, path, data[fp_offset + fp_length :], raw, error
    )


def encode_load_option(option: LoadOption) -> bytes:
    return option.to_bytes()


def load_option_fields(data: bytes) -> Field:
    return decode_load_option(data).fields()


# --- Key#### ------------------------------------------------------------------------

KEY_OPTION_HEADER_SIZE = 10
_KEY_HEADER = struct.Struct("<IIH")

#: EFI_INPUT_KEY.ScanCode names (UEFI spec "EFI Scan Codes").
SCAN_CODE_NAMES: dict[int, str] = {
    0x01: "Up", 0x02: "Down", 0x03: "Right", 0x04: "Left", 0x05: "Home", 0x06: "End",
    0x07: "Insert", 0x08: "Delete", 0x09: "PageUp", 0x0A: "PageDown",
    **{0x0B + i: f"F{i + 1}" for i in range(10)},
    0x15: "F11", 0x16: "F12", 0x17: "Esc", 0x48: "Pause",
    **{0x68 + i: f"F{i + 13}" for i in range(12)},
    0x7F: "Mute", 0x80: "VolumeUp", 0x81: "VolumeDown",
    0x100: "BrightnessUp", 0x101: "BrightnessDown", 0x102: "Suspend", 0x103: "Hibernate",
    0x104: "ToggleDisplay", 0x105: "Recovery", 0x106: "Eject",
}  # fmt: skip

_KEY_DATA_MODIFIERS = (
    (8, "Shift"), (9, "Ctrl"), (10, "Alt"), (11, "Logo"), (12, "Menu"), (13, "SysReq"),
)  # fmt: skip


@value
class InputKey:
    """EFI_INPUT_KEY."""

    scan_code: int
    unicode_char: int

    def text(self) -> str:
        if self.scan_code:
            name = SCAN_CODE_NAMES.get(self.scan_code, f"Scan 0x{self.scan_code:X}")
            return name if not self.unicode_char else f"{name}+{self._char()}"
        return self._char() if self.unicode_char else "(none)"

    def _char(self) -> str:
        char = chr(self.unicode_char)
        if char.isprintable() and not 0xD800 <= self.unicode_char <= 0xDFFF:
            return f"'{char}'"
        return f"U+{self.unicode_char:04X}"


@value
class KeyOption:
    """EFI_KEY_OPTION: a hot key that boots ``Boot{boot_option:04X}``."""

    key_data: int
    boot_option_crc: int
    boot_option: int
    keys: tuple[InputKey, ...] = ()

    @property
    def kind(self) -> str:
        return "keyoption"

    @property
    def revision(self) -> int:
        return self.key_data & 0xFF

    @property
    def input_key_count(self) -> int:
        return (self.key_data >> 30) & 0x3

    @property
    def modifiers(self) -> tuple[str, ...]:
        return tuple(name for bit, name in _KEY_DATA_MODIFIERS if self.key_data >> bit & 1)

    @property
    def boot_option_name(self) -> str:
        return f"Boot{self.boot_option:04X}"

    def crc_matches(self, boot_option_data: bytes) -> bool:
        """Whether BootOptionCrc is the CRC32 of the target Boot#### data."""
        return crc32(boot_option_data) == self.boot_option_crc

    def to_bytes(self) -> bytes:
        try:
            head = _KEY_HEADER.pack(self.key_data, self.boot_option_crc, self.boot_option)
            return head + b"".join(struct.pack("<HH", k.scan_code, k.unicode_char) for k in self.keys)
        except struct.error as exc:
            raise EncodeError(f"key option: {exc}") from exc

    def combo_text(self) -> str:
        parts = list(self.modifiers) + [k.text() for k in self.keys]
        return "+".join(parts) if parts else "(no keys)"

    def summary(self) -> str:
        return f"{self.combo_text()} -> {self.boot_option_name} (crc 0x{self.boot_option_crc:08X})"

    def _count_warning(self) -> str | None:
        if self.input_key_count != len(self.keys):
            return f"InputKeyCount {self.input_key_count} but {len(self.keys)} keys present"
        return None

    def fields(self) -> Field:
        kd_children = (
            Field("Revision", 0, 1, str(self.revision)),
            Field("Modifiers", 1, 1, "+".join(self.modifiers) or "none"),
            Field("InputKeyCount", 3, 1, str(self.input_key_count), warning=self._count_warning()),
        )
        children = [
            Field("KeyData", 0, 4, f"0x{self.key_data:08X}", kd_children),
            Field("BootOptionCrc", 4, 4, f"0x{self.boot_option_crc:08X}"),
            Field("BootOption", 8, 2, self.boot_option_name),
        ]
        for index, key in enumerate(self.keys):
            offset = KEY_OPTION_HEADER_SIZE + 4 * index
            children.append(
                Field(
                    f"Keys[{index}]",
                    offset,
                    4,
                    key.text(),
                    (
                        Field("ScanCode", offset, 2, f"0x{key.scan_code:04X}"),
                        Field("UnicodeChar", offset + 2, 2, f"0x{key.unicode_char:04X}"),
                    ),
                )
            )
        total = KEY_OPTION_HEADER_SIZE + 4 * len(self.keys)
        return Field("KeyOption", 0, total, self.summary(), tuple(children))


def decode_key_option(data: bytes) -> KeyOption:
    data = bytes(data)
    if len(data) < KEY_OPTION_HEADER_SIZE:
        raise DecodeError(f"key option shorter than 10 bytes ({len(data)})", len(data), what="Key####")
    if (len(data) - KEY_OPTION_HEADER_SIZE) % 4:
        raise DecodeError("key option size is not 10 + 4 * keys", len(data), what="Key####")
    key_data, crc, boot = _KEY_HEADER.unpack_from(data)
    keys = tuple(InputKey(*struct.unpack_from("<HH", data, pos)) for pos in range(10, len(data), 4))
    return KeyOption(key_data, crc, boot, keys)


def make_key_option(
    boot_option: int, boot_option_data: bytes, keys: tuple[InputKey, ...], modifiers: tuple[str, ...] = ()
) -> KeyOption:
    """A Key#### value for ``Boot{boot_option:04X}`` whose data is ``boot_option_data``."""
    if len(keys) > 3:
        raise EncodeError("a key option holds at most 3 keys")
    bits = {name.lower(): bit for bit, name in _KEY_DATA_MODIFIERS}
    key_data = len(keys) << 30
    for name in modifiers:
        bit = bits.get(name.lower())
        if bit is None:
            raise EncodeError(f"unknown modifier {name!r}")
        key_data |= 1 << bit
    return KeyOption(key_data, crc32(boot_option_data), boot_option, keys)
