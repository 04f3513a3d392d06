"""Scalar values: strings, booleans, integers, UINT16 and GUID arrays; parsers from user text."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.core import guid as g
from uefivars_gui.core import scalars as sc
from uefivars_gui.core.scalars import UIntStyle
from uefivars_gui.core.typed import TypedValue
from uefivars_gui.errors import DecodeError, EncodeError

OS_NAMES = sc.flag_names(sc.OsIndications)
BOS_NAMES = sc.flag_names(sc.BootOptionSupport)


def test_ascii_lang_values() -> None:
    lang = sc.decode_ascii_string(bytes.fromhex("656e6700"))  # OVMF Lang
    assert lang.text == "eng" and lang.terminated and lang.summary() == '"eng"'
    assert lang.to_bytes() == bytes.fromhex("656e6700")
    codes = sc.decode_ascii_string(b"en;fr;en-US;fr-FR\0")
    assert codes.summary() == '"en;fr;en-US;fr-FR"'
    bare = sc.decode_ascii_string(b"en")
    assert not bare.terminated and bare.to_bytes() == b"en" and bare.fields().warning
    multi = sc.decode_ascii_string(b"sbat,1,2021030218\nshim,2\n")
    assert multi.summary() == '"sbat,1,2021030218" ... (2 lines)'


@pytest.mark.parametrize(("raw", "offset"), [(b"e\0n\0", 1), (b"\xe9t\xe9\0", 0)])
def test_ascii_errors(raw: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        sc.decode_ascii_string(raw)
    assert info.value.offset == offset


def test_ucs2_strings() -> None:
    value = sc.decode_ucs2_string("Fedora Linux\0".encode("utf-16-le"))
    assert value.text == "Fedora Linux" and value.terminated
    assert value.summary() == '"Fedora Linux"'
    assert sc.parse_ucs2("a\nb").summary() == '"a\\nb"'
    assert sc.parse_ucs2("x").to_bytes() == b"x\0\0\0"
    assert sc.parse_ucs2("x", nul=False).to_bytes() == b"x\0"
    with pytest.raises(DecodeError):
        sc.decode_ucs2_string(b"abc")
    with pytest.raises(DecodeError) as info:
        sc.decode_ucs2_string(b"a\0\0\0b\0")
    assert info.value.offset == 2


def test_booleans() -> None:
    assert sc.decode_bool(b"\x01").summary() == "true"
    assert sc.decode_bool(b"\x00").summary() == "false"
    odd = sc.decode_bool(b"\x02")
    assert odd.enabled and odd.to_bytes() == b"\x02" and odd.fields().warning
    for word, value in [("true", 1), ("Yes", 1), ("on", 1), ("0", 0), ("disabled", 0), ("0x02", 2)]:
        assert sc.parse_bool(word).value == value
    with pytest.raises(DecodeError):
        sc.parse_bool("maybe")
    with pytest.raises(DecodeError):
        sc.parse_bool("256")
    with pytest.raises(DecodeError):
        sc.decode_bool(b"")


@pytest.mark.parametrize(
    ("raw", "size", "style", "names", "summary"),
    [
        (bytes.fromhex("0500"), 2, UIntStyle.TIMEOUT, (), "5 s"),
        (bytes.fromhex("0000"), 2, UIntStyle.TIMEOUT, (), "0 s (boot at once)"),
        (bytes.fromhex("ffff"), 2, UIntStyle.TIMEOUT, (), "wait for a key (0xFFFF)"),
        (bytes.fromhex("0a00"), 2, UIntStyle.OPTION, (), "Boot000A"),
        (bytes.fromhex("01000000"), 4, UIntStyle.DECIMAL, (), "1"),
        (bytes.fromhex("2c010000"), 4, UIntStyle.DECIMAL, (), "300 (0x12C)"),
        (
            bytes.fromhex("0900000000000000"),
            8,
            UIntStyle.FLAGS,
            OS_NAMES,
            "BOOT_TO_FW_UI|FMP_CAPSULE_SUPPORTED (0x9)",
        ),
        (bytes.fromhex("0001000000000000"), 8, UIntStyle.FLAGS, OS_NAMES, "0x100 (0x100)"),
        (bytes(8), 8, UIntStyle.FLAGS, OS_NAMES, "none (0x0)"),
        (
            bytes.fromhex("13030000"),
            4,
            UIntStyle.BOOT_OPTION_SUPPORT,
            BOS_NAMES,
            "KEY|APP|SYSPREP, up to 3 keys (0x313)",
        ),
        (b"\xff", 1, UIntStyle.ENUM, sc.VAR_ERROR_FLAG_NAMES, "NO_ERROR (0xFF)"),
        (b"\x12", 1, UIntStyle.ENUM, sc.VAR_ERROR_FLAG_NAMES, "0x12"),
        (b"\x12", 1, UIntStyle.HEX, (), "0x12"),
    ],
)
def test_uint_summaries(
    raw: bytes, size: int, style: UIntStyle, names: tuple[tuple[int, str], ...], summary: str
) -> None:
    value = sc.decode_uint(raw, size, style, names)
    assert value.summary() == summary
    assert value.to_bytes() == raw
    assert value.kind == f"uint{8 * size}"
    assert value.with_text(value.edit_text()) == value
    assert value.fields().length == size


def test_uint_parsing() -> None:
    assert sc.parse_uint("300", 2).value == 300
    assert sc.parse_uint("0x12c", 2).value == 300
    assert sc.parse_uint("0b101", 1).value == 5
    assert sc.parse_uint("Boot000A", 2, UIntStyle.OPTION).value == 10
    assert sc.parse_uint("000a", 2, UIntStyle.OPTION).value == 10
    flags = sc.parse_uint(
        "boot_to_fw_ui | EFI_OS_INDICATIONS_FMP_CAPSULE_SUPPORTED|0x100", 8, UIntStyle.FLAGS, OS_NAMES
    )
    assert flags.value == 0x109
    assert sc.parse_uint("USER_ERROR", 1, UIntStyle.ENUM, sc.VAR_ERROR_FLAG_NAMES).value == 0xFE
    for bad, size in [("65536", 2), ("-1", 2), ("ten", 4), ("", 4), ("1.5", 4)]:
        with pytest.raises(DecodeError):
            sc.parse_uint(bad, size)
    with pytest.raises(DecodeError):
        sc.parse_uint("Boot10000", 2, UIntStyle.OPTION)
    with pytest.raises(DecodeError):
        sc.decode_uint(b"\0", 2)
    with pytest.raises(EncodeError):
        sc.UInt(256, 1).to_bytes()


def test_boot_order() -> None:
    order = sc.decode_uint16_array(bytes.fromhex("010000000a00"))
    assert order.values == (1, 0, 10)
    assert order.summary() == "Boot0001, Boot0000, Boot000A"
    assert order.edit_text() == "0001,0000,000A"
    assert order.with_text(order.edit_text()) == order
    assert sc.parse_uint16_array("Boot0001 Boot0000, 0xA").values == (1, 0, 10)
    assert sc.decode_uint16_array(b"").summary() == "(empty)"
    assert [c.text for c in order.fields().children] == ["Boot0001", "Boot0000", "Boot000A"]
    assert sc.decode_uint16_array(b"\x01\0\x01\0").fields().warning  # duplicates
    drivers = sc.decode_uint16_array(b"\x02\0", prefix="Driver")
    assert drivers.summary() == "Driver0002"
    with pytest.raises(DecodeError) as info:
        sc.decode_uint16_array(b"\x01\0\x02")
    assert info.value.offset == 2
    with pytest.raises(DecodeError):
        sc.parse_uint16_array("Boot0001,xyz")


def test_guid_array() -> None:
    raw = g.EFI_CERT_SHA256.bytes_le + g.EFI_CERT_X509.bytes_le
    value = sc.decode_guid_array(raw)
    assert value.summary() == "EfiCertSha256, EfiCertX509"
    assert value.to_bytes() == raw
    assert sc.parse_guid_array(value.edit_text()) == value
    other = UUID("12345678-1234-1234-1234-123456789abc")
    assert sc.parse_guid_array(f"{other}, EfiCertSha256").guids == (other, g.EFI_CERT_SHA256)
    with pytest.raises(DecodeError):
        sc.decode_guid_array(raw[:20])


def test_guess_text() -> None:
    assert sc.guess_text(b"hello-from-qtest") == ("ascii", "hello-from-qtest")
    assert sc.guess_text("héllo\0".encode("utf-16-le")) == ("ucs2", "héllo")
    assert sc.guess_text(b"\x00\x01\x02") is None
    assert sc.quote_text('a"\x01\ud800') == '"a\\"\\x01\\ud800"'


def _uint2(data: bytes) -> TypedValue:
    return sc.decode_uint(data, 2)


def _flags8(data: bytes) -> TypedValue:
    return sc.decode_uint(data, 8, UIntStyle.FLAGS, OS_NAMES)


_DECODERS: list[Callable[[bytes], TypedValue]] = [
    sc.decode_ascii_string,
    sc.decode_ucs2_string,
    sc.decode_bool,
    sc.decode_uint16_array,
    sc.decode_guid_array,
    _uint2,
    _flags8,
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(_DECODERS))), st.binary(max_size=40))
def test_random_bytes_round_trip_or_decode_error(index: int, raw: bytes) -> None:
    try:
        value = _DECODERS[index](raw)
    except DecodeError:
        return
    assert value.to_bytes() == raw
    assert value.fields().length == len(raw)
    value.summary()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1), st.sampled_from([1, 2, 4, 8]), st.sampled_from(list(UIntStyle)))
def test_uint_edit_text_round_trip(value: int, size: int, style: UIntStyle) -> None:
    value &= (1 << (8 * size)) - 1
    if style is UIntStyle.OPTION:
        value &= 0xFFFF
    names = BOS_NAMES if style is UIntStyle.BOOT_OPTION_SUPPORT else OS_NAMES
    uint = sc.UInt(value, size, style, names)
    assert sc.decode_uint(uint.to_bytes(), size, style, names) == uint
    assert uint.with_text(uint.edit_text()) == uint


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F, blacklist_characters="\0"), max_size=20))
def test_ascii_parse_round_trip(text: str) -> None:
    value = sc.parse_ascii(text)
    assert sc.decode_ascii_string(value.to_bytes()) == value
