"""Typed values of simple variables: strings, booleans, integers, UINT16 and GUID arrays.

Every value has ``kind``, ``summary()``, ``fields()`` and ``to_bytes()`` (the
:class:`~uefivars_gui.core.typed.TypedValue` protocol), ``edit_text()`` (the text a typed
editor shows) and ``with_text(text)`` (a new value parsed from what the user typed).
Decoders keep whatever makes the bytes round-trip (a missing NUL terminator, a boolean
byte that is neither 0 nor 1).
"""

from __future__ import annotations

import re
from enum import IntFlag, StrEnum
from uuid import UUID

from ..errors import DecodeError, EncodeError
from .fields import Field
from .guid import GUID_SIZE, guid_label, parse_guid
from .record import value


def quote_text(text: str) -> str:
    """Double-quoted text with control characters and lone surrogates escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def guess_text(data: bytes) -> tuple[str, str] | None:
    """``("ascii", text)`` or ``("ucs2", text)`` when ``data`` plainly is text, else None.

    Printable ASCII wins over UCS-2: ASCII bytes of even length would otherwise decode
    as CJK characters. UCS-2 text must be at least 3/4 ASCII-range characters (so
    random binary is not taken for text). One trailing NUL terminator is allowed.
    """
    data = bytes(data)
    ascii_body = data[:-1] if data.endswith(b"\0") else data
    if ascii_body and all(0x20 <= b <= 0x7E or b in (0x09, 0x0A, 0x0D) for b in ascii_body):
        return ("ascii", ascii_body.decode("ascii"))
    if len(data) < 2 or len(data) % 2:
        return None
    body = data[:-2] if data.endswith(b"\0\0") else data
    try:
        text = body.decode("utf-16-le")
    except UnicodeDecodeError:
        return None
    if not text or not all(ch.isprintable() or ch in "\t\r\n" for ch in text):
        return None
    # Random binary also decodes to printable UTF-16; real text is mostly ASCII range.
    if 4 * sum(" " <= ch <= "~" for ch in text) < 3 * len(text):
        return None
    return ("ucs2", text)


# --- strings ------------------------------------------------------------------------


@value
class Ucs2String:
    """A UCS-2 (UTF-16LE) string; ``terminated`` says whether the data ends in a NUL."""

    text: str
    terminated: bool = True

    @property
    def kind(self) -> str:
        return "ucs2"

    def to_bytes(self) -> bytes:
        raw = self.text.encode("utf-16-le", "surrogatepass")
        return raw + b"\0\0" if self.terminated else raw

    def summary(self) -> str:
        return quote_text(self.text)

    def fields(self) -> Field:
        size = len(self.to_bytes())
        warning = None if self.terminated else "no NUL terminator"
        return Field("String", 0, size, self.summary(), warning=warning)

    def edit_text(self) -> str:
        return self.text

    def with_text(self, text: str) -> Ucs2String:
        return parse_ucs2(text, nul=self.terminated)


def decode_ucs2_string(data: bytes) -> Ucs2String:
    data = bytes(data)
    if len(data) % 2:
        raise DecodeError(f"odd size {len(data)} for a UCS-2 string", len(data) - 1, what="UCS-2 string")
    terminated = data.endswith(b"\0\0")
    body = data[:-2] if terminated else data
    text = body.decode("utf-16-le", "surrogatepass")
    if "\0" in text:
        raise DecodeError("NUL inside the string", 2 * text.index("\0"), what="UCS-2 string")
    return Ucs2String(text, terminated)


def parse_ucs2(text: str, *, nul: bool = True) -> Ucs2String:
    """A UCS-2 string value from user text (``--string``)."""
    if "\0" in text:
        raise DecodeError("NUL inside the string", text.index("\0"), what="string")
    return Ucs2String(text, nul)


@value
class AsciiString:
    """An ASCII string (Lang, PlatformLang, LangCodes, PlatformLangCodes, SbatLevel)."""

    text: str
    terminated: bool = True

    @property
    def kind(self) -> str:
        return "ascii"

    def to_bytes(self) -> bytes:
        try:
            raw = self.text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise EncodeError(f"not ASCII: {self.text!r}") from exc
        return raw + b"\0" if self.terminated else raw

    def summary(self) -> str:
        first, _, rest = self.text.partition("\n")
        if rest.strip():
            lines = self.text.count("\n") + (0 if self.text.endswith("\n") else 1)
            return f"{quote_text(first)} ... ({lines} lines)"
        return quote_text(self.text)

    def fields(self) -> Field:
        size = len(self.text) + (1 if self.terminated else 0)
        warning = None if self.terminated else "no NUL terminator"
        return Field("String", 0, size, quote_text(self.text), warning=warning)

    def edit_text(self) -> str:
        return self.text

    def with_text(self, text: str) -> AsciiString:
        return parse_ascii(text, nul=self.terminated)


def decode_ascii_string(data: bytes) -> AsciiString:
    data = bytes(data)
    terminated = data.endswith(b"\0")
    body = data[:-1] if terminated else data
    for index, byte in enumerate(body):
        if byte == 0:
            raise DecodeError("NUL inside the string", index, what="ASCII string")
        if byte > 0x7F:
            raise DecodeError(f"non-ASCII byte 0x{byte:02X}", index, what="ASCII string")
    return AsciiString(body.decode("ascii"), terminated)


def parse_ascii(text: str, *, nul: bool = True) -> AsciiString:
    for index, char in enumerate(text):
        if char == "\0" or ord(char) > 0x7F:
            raise DecodeError(f"not an ASCII character: {char!r}", index, what="ASCII string")
    return AsciiString(text, nul)


# --- booleans -----------------------------------------------------------------------

_TRUE_WORDS = {"1", "true", "yes", "on", "enable", "enabled", "y"}
_FALSE_WORDS = {"0", "false", "no", "off", "disable", "disabled", "n"}


@value
class Boolean:
    """A one-byte boolean (SecureBoot, SetupMode, SecureBootEnable, CustomMode...).

    ``value`` is the raw byte so that values other than 0/1 survive a round trip.
    """

    value: int

    @property
    def kind(self) -> str:
        return "bool"

    @property
    def enabled(self) -> bool:
        """True for any non-zero byte (as firmware tests it)."""
        return self.value != 0

    def to_bytes(self) -> bytes:
        if not 0 <= self.value <= 0xFF:
            raise EncodeError(f"boolean byte out of range: {self.value}")
        return bytes([self.value])

    def summary(self) -> str:
        if self.value in (0, 1):
            return "true" if self.value else "false"
        return f"0x{self.value:02X} (neither 0 nor 1)"

    def fields(self) -> Field:
        warning = None if self.value in (0, 1) else "boolean byte is neither 0 nor 1"
        return Field("Value", 0, 1, self.summary(), warning=warning)

    def edit_text(self) -> str:
        return self.summary() if self.value in (0, 1) else f"0x{self.value:02X}"

    def with_text(self, text: str) -> Boolean:
        return parse_bool(text)


def decode_bool(data: bytes) -> Boolean:
    if len(data) != 1:
        raise DecodeError(f"a boolean is 1 byte, got {len(data)}", min(len(data), 1), what="boolean")
    return Boolean(data[0])


def parse_bool(text: str) -> Boolean:
    """``true/false``, ``yes/no``, ``on/off``, ``1/0`` or a byte value (``0x02``)."""
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return Boolean(1)
    if word in _FALSE_WORDS:
        return Boolean(0)
    value = _parse_number(text, "boolean")
    if not 0 <= value <= 0xFF:
        raise DecodeError(f"boolean byte out of range: {text!r}", what="boolean")
    return Boolean(value)


# --- unsigned integers --------------------------------------------------------------


class OsIndications(IntFlag):
    """EFI_OS_INDICATIONS_* (OsIndications, OsIndicationsSupported)."""

    BOOT_TO_FW_UI = 0x01
    TIMESTAMP_REVOCATION = 0x02
    FILE_CAPSULE_DELIVERY_SUPPORTED = 0x04
    FMP_CAPSULE_SUPPORTED = 0x08
    CAPSULE_RESULT_VAR_SUPPORTED = 0x10
    START_OS_RECOVERY = 0x20
    START_PLATFORM_RECOVERY = 0x40
    JSON_CONFIG_DATA_REFRESH = 0x80


class BootOptionSupport(IntFlag):
    """EFI_BOOT_OPTION_SUPPORT_* (BootOptionSupport); bits 8-9 are the key count."""

    KEY = 0x001
    APP = 0x002
    SYSPREP = 0x010


BOOT_OPTION_SUPPORT_COUNT = 0x300


class MemoryOverwriteRequest(IntFlag):
    """MemoryOverwriteRequestControl bits (TCG Platform Reset Attack Mitigation)."""

    CLEAR_MEMORY = 0x01
    DISABLE_AUTO_DETECT = 0x10


#: VarErrorFlag values (edk2 VarErrorFlag.h): bits are cleared to flag errors.
VAR_ERROR_FLAG_NAMES: tuple[tuple[int, str], ...] = (
    (0xFF, "NO_ERROR"),
    (0xEF, "SYSTEM_ERROR"),
    (0xFE, "USER_ERROR"),
    (0xEE, "SYSTEM_ERROR|USER_ERROR"),
)

#: MemoryOverwriteRequestControlLock values.
MOR_LOCK_NAMES: tuple[tuple[int, str], ...] = (
    (0, "UNLOCKED"),
    (1, "LOCKED_WITHOUT_KEY"),
    (2, "LOCKED_WITH_KEY"),
)


def flag_names(flags: type[IntFlag]) -> tuple[tuple[int, str], ...]:
    return tuple((int(member.value), str(member.name)) for member in flags)


class UIntStyle(StrEnum):
    DECIMAL = "decimal"
    HEX = "hex"
    #: bit names in ``names``; unknown bits shown in hex
    FLAGS = "flags"
    #: value names in ``names``
    ENUM = "enum"
    #: a load option number shown as ``{prefix}%04X`` (BootNext, BootCurrent)
    OPTION = "option"
    #: seconds; 0xFFFF waits for a key (Timeout)
    TIMEOUT = "timeout"
    #: BootOptionSupport: flags plus the key count in bits 8-9
    BOOT_OPTION_SUPPORT = "boot-option-support"


_SIZES = (1, 2, 4, 8)


@value
class UInt:
    """An unsigned little-endian integer of 1, 2, 4 or 8 bytes."""

    value: int
    size: int
    style: UIntStyle = UIntStyle.DECIMAL
    names: tuple[tuple[int, str], ...] = ()
    prefix: str = "Boot"

    @property
    def kind(self) -> str:
        return f"uint{8 * self.size}"

    def to_bytes(self) -> bytes:
        if self.size not in _SIZES:
            raise EncodeError(f"integer size must be 1, 2, 4 or 8, not {self.size}")
        if not 0 <= self.value < 1 << (8 * self.size):
            raise EncodeError(f"{self.value} does not fit in {self.size} bytes")
        return self.value.to_bytes(self.size, "little")

    def _flags_text(self, value: int) -> str:
        parts = [name for bit, name in self.names if bit and value & bit == bit]
        known = 0
        for bit, _ in self.names:
            known |= bit
        rest = value & ~known
        if rest:
            parts.append(f"0x{rest:X}")
        return "|".join(parts)

    def summary(self) -> str:
        value = self.value
        if self.style is UIntStyle.HEX:
            return f"0x{value:0{2 * self.size}X}"
        if self.style is UIntStyle.FLAGS:
            return f"{self._flags_text(value) or 'none'} (0x{value:X})"
        if self.style is UIntStyle.ENUM:
            name = dict(self.names).get(value)
            return f"{name} (0x{value:X})" if name else f"0x{value:X}"
        if self.style is UIntStyle.OPTION:
            return f"{self.prefix}{value:04X}"
        if self.style is UIntStyle.TIMEOUT:
            if value == 0xFFFF:
                return "wait for a key (0xFFFF)"
            return f"{value} s" + (" (boot at once)" if value == 0 else "")
        if self.style is UIntStyle.BOOT_OPTION_SUPPORT:
            flags = self._flags_text(value & ~BOOT_OPTION_SUPPORT_COUNT) or "none"
            return f"{flags}, up to {(value & BOOT_OPTION_SUPPORT_COUNT) >> 8} keys (0x{value:X})"
        return str(value) if value < 10 else f"{value} (0x{value:X})"

    def fields(self) -> Field:
        children: tuple[Field, ...] = ()
        if self.style in (UIntStyle.FLAGS, UIntStyle.BOOT_OPTION_SUPPORT):
            children = tuple(
                Field(name, 0, self.size, "set" if self.value & bit == bit else "clear")
                for bit, name in self.names
                if bit
            )
        return Field("Value", 0, self.size, self.summary(), children)

    def edit_text(self) -> str:
        if self.style in (UIntStyle.FLAGS, UIntStyle.BOOT_OPTION_SUPPORT):
            return self._flags_text(self.value) or "0"
        if self.style is UIntStyle.ENUM:
            return dict(self.names).get(self.value) or f"0x{self.value:X}"
        if self.style is UIntStyle.OPTION:
            return f"{self.prefix}{self.value:04X}"
        if self.style is UIntStyle.HEX:
            return f"0x{self.value:X}"
        return str(self.value)

    def with_text(self, text: str) -> UInt:
        return parse_uint(text, self.size, self.style, self.names, self.prefix)


def decode_uint(
    data: bytes,
    size: int,
    style: UIntStyle = UIntStyle.DECIMAL,
    names: tuple[tuple[int, str], ...] = (),
    prefix: str = "Boot",
) -> UInt:
    if len(data) != size:
        raise DecodeError(
            f"expected {size} bytes, got {len(data)}", min(len(data), size), what=f"UINT{8 * size}"
        )
    return UInt(int.from_bytes(data, "little"), size, style, names, prefix)


def _parse_number(text: str, what: str) -> int:
    value = text.strip().replace("_", "")
    try:
        lowered = value.lower()
        if lowered.startswith("0x"):
            return int(value[2:], 16)
        if lowered.startswith("0b"):
            return int(value[2:], 2)
        if value.isdigit() and value.isascii():
            return int(value, 10)
    except ValueError:
        pass
    raise DecodeError(f"not a number: {text!r}", what=what)


def _parse_option_number(token: str, prefix: str, what: str) -> int:
    """``Boot000A``, ``000A``, ``0xA`` or ``a`` (hex, as efibootmgr takes them)."""
    value = token.strip()
    if prefix and value.lower().startswith(prefix.lower()):
        value = value[len(prefix) :]
    if value.lower().startswith("0x"):
        value = value[2:]
    if not value or not re.fullmatch(r"[0-9A-Fa-f]{1,4}", value):
        raise DecodeError(f"not a {prefix}#### number: {token!r}", what=what)
    return int(value, 16)


def parse_uint(
    text: str,
    size: int,
    style: UIntStyle = UIntStyle.DECIMAL,
    names: tuple[tuple[int, str], ...] = (),
    prefix: str = "Boot",
) -> UInt:
    """An integer from user text: decimal, ``0x`` hex, ``0b`` binary; flag names joined
    by ``|`` for flag styles; a value name for ENUM; ``Boot000A``/``000A`` (hex) for OPTION."""
    what = f"UINT{8 * size}"
    if size not in _SIZES:
        raise DecodeError(f"integer size must be 1, 2, 4 or 8, not {size}", what=what)
    if style is UIntStyle.OPTION:
        value = _parse_option_number(text, prefix, what)
    elif style in (UIntStyle.FLAGS, UIntStyle.BOOT_OPTION_SUPPORT, UIntStyle.ENUM):
        by_name = {name.upper(): bit for bit, name in names}
        tokens = (
            [t.strip() for t in re.split(r"[|,+]", text)] if style is not UIntStyle.ENUM else [text.strip()]
        )
        value = 0
        for token in tokens:
            if not token:
                continue
            key = token.upper()
            for strip in ("EFI_OS_INDICATIONS_", "EFI_BOOT_OPTION_SUPPORT_", "MOR_", "VAR_ERROR_FLAG_"):
                key = key.removeprefix(strip)
            if key in by_name:
                value |= by_name[key]
            else:
                value |= _parse_number(token, what)
    else:
        value = _parse_number(text, what)
    if not 0 <= value < 1 << (8 * size):
        raise DecodeError(f"{value} does not fit in {size} bytes", what=what)
    return UInt(value, size, style, names, prefix)


# --- arrays -------------------------------------------------------------------------


@value
class UInt16Array:
    """A UINT16 array: BootOrder, DriverOrder, SysPrepOrder (shown as ``Boot0001``...)."""

    values: tuple[int, ...]
    prefix: str = "Boot"

    @property
    def kind(self) -> str:
        return "uint16[]"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}{v:04X}" for v in self.values)

    def to_bytes(self) -> bytes:
        out = bytearray()
        for number in self.values:
            if not 0 <= number <= 0xFFFF:
                raise EncodeError(f"UINT16 out of range: {number}")
            out += number.to_bytes(2, "little")
        return bytes(out)

    def summary(self) -> str:
        return ", ".join(self.names) if self.values else "(empty)"

    def fields(self) -> Field:
        children = tuple(Field(f"[{i}]", 2 * i, 2, name) for i, name in enumerate(self.names))
        duplicates = sorted({v for v in self.values if self.values.count(v) > 1})
        warning = f"duplicate entries: {', '.join(f'{v:04X}' for v in duplicates)}" if duplicates else None
        return Field("Array", 0, 2 * len(self.values), self.summary(), children, warning)

    def edit_text(self) -> str:
        return ",".join(f"{v:04X}" for v in self.values)

    def with_text(self, text: str) -> UInt16Array:
        return parse_uint16_array(text, self.prefix)


def decode_uint16_array(data: bytes, prefix: str = "Boot") -> UInt16Array:
    if len(data) % 2:
        raise DecodeError(f"odd size {len(data)} for a UINT16 array", len(data) - 1, what="UINT16 array")
    return UInt16Array(
        tuple(int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)), prefix
    )


def parse_uint16_array(text: str, prefix: str = "Boot") -> UInt16Array:
    """``0001,0000``, ``Boot0001 Boot0000`` or ``1, 0xA`` (hex, like efibootmgr -o)."""
    tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    return UInt16Array(tuple(_parse_option_number(t, prefix, "UINT16 array") for t in tokens), prefix)


@value
class GuidArray:
    """An array of EFI_GUIDs (SignatureSupport, OsRecoveryOrder)."""

    guids: tuple[UUID, ...]

    @property
    def kind(self) -> str:
        return "guid[]"

    def to_bytes(self) -> bytes:
        return b"".join(g.bytes_le for g in self.guids)

    def summary(self) -> str:
        return ", ".join(guid_label(g) for g in self.guids) if self.guids else "(empty)"

    def fields(self) -> Field:
        children = tuple(
            Field(
                f"[{i}]",
                GUID_SIZE * i,
                GUID_SIZE,
                f"{str(g).upper()} ({guid_label(g)})" if guid_label(g) != str(g) else str(g).upper(),
            )
            for i, g in enumerate(self.guids)
        )
        return Field("Array", 0, GUID_SIZE * len(self.guids), self.summary(), children)

    def edit_text(self) -> str:
        return ", ".join(guid_label(g) for g in self.guids)

    def with_text(self, text: str) -> GuidArray:
        return parse_guid_array(text)


def decode_guid_array(data: bytes) -> GuidArray:
    if len(data) % GUID_SIZE:
        raise DecodeError(
            f"size {len(data)} is not a multiple of 16", len(data) - len(data) % GUID_SIZE, what="GUID array"
        )
    return GuidArray(
        tuple(UUID(bytes_le=bytes(data[i : i + GUID_SIZE])) for i in range(0, len(data), GUID_SIZE))
    )


def parse_guid_array(text: str) -> GuidArray:
    """GUIDs or well-known GUID names separated by commas or white space."""
    tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    return GuidArray(tuple(parse_guid(t) for t in tokens))
