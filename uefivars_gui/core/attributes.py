"""Variable attribute bits (UEFI spec / edk2 UefiMultiPhase.h)."""

from __future__ import annotations

from enum import IntFlag

from ..errors import DecodeError


class Attributes(IntFlag):
    NON_VOLATILE = 0x01
    BOOTSERVICE_ACCESS = 0x02
    RUNTIME_ACCESS = 0x04
    HARDWARE_ERROR_RECORD = 0x08
    AUTHENTICATED_WRITE_ACCESS = 0x10
    TIME_BASED_AUTHENTICATED_WRITE_ACCESS = 0x20
    APPEND_WRITE = 0x40
    ENHANCED_AUTHENTICATED_ACCESS = 0x80


NV = Attributes.NON_VOLATILE
BS = Attributes.BOOTSERVICE_ACCESS
RT = Attributes.RUNTIME_ACCESS
HR = Attributes.HARDWARE_ERROR_RECORD
AW = Attributes.AUTHENTICATED_WRITE_ACCESS
AT = Attributes.TIME_BASED_AUTHENTICATED_WRITE_ACCESS
AP = Attributes.APPEND_WRITE

NV_BS = NV | BS
BS_RT = BS | RT
NV_BS_RT = NV | BS | RT
NV_BS_RT_AT = NV | BS | RT | AT

#: edk2 EFI_VARIABLE_ATTRIBUTES_MASK
ATTRIBUTES_MASK = NV | BS | RT | HR | AT | AP

SHORT_NAMES: dict[Attributes, str] = {
    NV: "NV",
    BS: "BS",
    RT: "RT",
    HR: "HR",
    AW: "AW",
    AT: "AT",
    AP: "AP",
    Attributes.ENHANCED_AUTHENTICATED_ACCESS: "EA",
}
_BY_SHORT = {v: k for k, v in SHORT_NAMES.items()}
_BY_SHORT["APPEND"] = AP


def format_attributes(value: int) -> str:
    """Short flags such as ``NV|BS|RT|AT``; unknown bits as hex; ``-`` for none."""
    bits = int(value)  # int arithmetic: IntFlag operators are slow (start-up time of `uefivars show`)
    parts = [short for bit, short in SHORT_NAMES.items() if bits & int(bit)]
    rest = bits & ~0xFF
    if rest:
        parts.append(f"0x{rest:x}")
    return "|".join(parts) if parts else "-"


def parse_attributes(text: str) -> Attributes:
    """Parse ``NV|BS|RT``, ``NV,BS,RT``, long names, or a number (``0x27``, ``39``)."""
    stripped = text.strip()
    if not stripped:
        raise DecodeError("empty attribute list", what="attributes")
    try:
        return Attributes(int(stripped, 0))
    except ValueError:
        pass
    value = Attributes(0)
    for token in stripped.replace(",", "|").replace("+", "|").split("|"):
        token = token.strip().upper()
        if not token:
            continue
        bit = _BY_SHORT.get(token)
        if bit is None:
            bit = Attributes.__members__.get(token.removeprefix("EFI_VARIABLE_"))
        if bit is None:
            raise DecodeError(f"unknown attribute {token!r} (use NV, BS, RT, HR, AT, AW, AP or a number)",
                              what="attributes")
        value |= bit
    return value
