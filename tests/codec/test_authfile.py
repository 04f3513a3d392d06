"""EFI_VARIABLE_AUTHENTICATION_2 (.auth files, DBXUpdate.bin)."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.codec import authfile, esl
from uefivars_gui.codec.authfile import AuthDescriptorKind, VariableAuthentication2
from uefivars_gui.core.attributes import AP, NV_BS_RT_AT
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.guid import (
    EFI_CERT_SHA256,
    EFI_CERT_TYPE_PKCS7,
    EFI_CERT_TYPE_RSA2048_SHA256,
    EFI_CERT_X509,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    MICROSOFT_VENDOR,
)
from uefivars_gui.errors import DecodeError, EncodeError

SIGNED_DIR = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "signed"
STAMP = EfiTime(2024, 2, 29, 23, 59, 58)
# A stand-in for a DER SignedData: content does not matter to this codec.
FAKE_PKCS7 = bytes.fromhex("3082000a020101310f300d0609608648016503040201") + b"\x05\x00" * 8
# One EFI_SIGNATURE_LIST with one SHA-256 entry.
PAYLOAD = (
    EFI_CERT_SHA256.bytes_le
    + struct.pack("<III", 28 + 48, 0, 48)
    + MICROSOFT_VENDOR.bytes_le
    + bytes(range(32))
)


def _error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        VariableAuthentication2.decode(data)
    return info.value


def test_build_layout() -> None:
    data = authfile.build(STAMP, FAKE_PKCS7, PAYLOAD)
    assert data[:16] == STAMP.to_bytes()
    assert struct.unpack_from("<IHH", data, 16) == (24 + len(FAKE_PKCS7), 0x0200, 0x0EF1)
    assert data[24:40] == EFI_CERT_TYPE_PKCS7.bytes_le
    assert data[40 : 40 + len(FAKE_PKCS7)] == FAKE_PKCS7
    assert data[40 + len(FAKE_PKCS7) :] == PAYLOAD
    auth = authfile.decode(data)
    assert auth == VariableAuthentication2(STAMP, EFI_CERT_TYPE_PKCS7, 0x0200, 0x0EF1, FAKE_PKCS7, PAYLOAD)
    assert auth.dw_length == 24 + len(FAKE_PKCS7)
    assert auth.descriptor_size == 40 + len(FAKE_PKCS7)
    assert auth.encode() == data
    assert authfile.probe(data)
    assert authfile.classify(data) is AuthDescriptorKind.AUTHENTICATION_2
    assert not auth.is_content_info and auth.has_signature
    assert esl.decode(auth.payload).list_count == 1


def test_unsigned_placeholder_and_empty_payload() -> None:
    data = authfile.build(EfiTime(), b"", b"")
    assert len(data) == 40
    auth = authfile.decode(data)
    assert auth.cert_data == b"" and auth.payload == b"" and not auth.has_signature
    assert auth.encode() == data
    assert "unsigned" in auth.fields().find("CertData").text  # type: ignore[union-attr]


def test_fields_spans() -> None:
    data = authfile.build(STAMP, FAKE_PKCS7, PAYLOAD)
    tree = authfile.decode(data).fields()
    assert (tree.offset, tree.length) == (0, len(data))
    expected = {
        "TimeStamp": (0, 16),
        "Year": (0, 2),
        "Month": (2, 1),
        "Second": (6, 1),
        "Nanosecond": (8, 4),
        "TimeZone": (12, 2),
        "Pad2": (15, 1),
        "AuthInfo": (16, 24 + len(FAKE_PKCS7)),
        "dwLength": (16, 4),
        "wRevision": (20, 2),
        "wCertificateType": (22, 2),
        "CertType": (24, 16),
        "CertData": (40, len(FAKE_PKCS7)),
        "Payload": (40 + len(FAKE_PKCS7), len(PAYLOAD)),
    }
    for name, span in expected.items():
        node = tree.find(name)
        assert node is not None, name
        assert (node.offset, node.length) == span, name
    assert tree.find("Year").text == "2024"  # type: ignore[union-attr]
    assert tree.deepest_at(23).name == "wCertificateType"  # type: ignore[union-attr]
    assert tree.deepest_at(len(data) - 1).name == "Payload"  # type: ignore[union-attr]
    assert all(node.warning is None for node in tree.walk())


def test_fields_warn_about_what_edk2_rejects() -> None:
    auth = VariableAuthentication2(
        EfiTime(2024, 1, 1, nanosecond=5, timezone=60), EFI_CERT_TYPE_PKCS7, 0x0100, 0x0EF1, b"", b""
    )
    tree = authfile.decode(auth.encode()).fields()
    assert tree.find("TimeStamp").warning  # type: ignore[union-attr]
    assert tree.find("Nanosecond").warning and tree.find("TimeZone").warning  # type: ignore[union-attr]
    assert tree.find("Year").warning is None  # type: ignore[union-attr]
    assert tree.find("wRevision").warning  # type: ignore[union-attr]


def test_content_info_detection() -> None:
    wrapped = (
        bytes.fromhex("30820100")
        + bytes.fromhex("06092a864886f70d010702")
        + bytes.fromhex("a08200f1")
        + bytes(8)
    )
    auth = authfile.decode(authfile.build(STAMP, wrapped, b""))
    assert auth.is_content_info
    assert "ContentInfo" in auth.fields().find("CertData").text  # type: ignore[union-attr]


def test_signed_content() -> None:
    attributes = NV_BS_RT_AT | AP
    expected = (
        "db".encode("utf-16-le")
        + EFI_IMAGE_SECURITY_DATABASE.bytes_le
        + struct.pack("<I", 0x67)
        + STAMP.to_bytes()
        + PAYLOAD
    )
    assert authfile.signed_content("db", EFI_IMAGE_SECURITY_DATABASE, attributes, STAMP, PAYLOAD) == expected
    auth = authfile.decode(authfile.build(STAMP, FAKE_PKCS7, PAYLOAD))
    assert auth.signed_content("db", EFI_IMAGE_SECURITY_DATABASE, attributes) == expected
    with pytest.raises(EncodeError):
        authfile.signed_content("db", EFI_IMAGE_SECURITY_DATABASE, 1 << 32, STAMP, b"")


def test_sanity_checks() -> None:
    good = authfile.build(STAMP, FAKE_PKCS7, PAYLOAD)
    err = _error(good[:39])
    assert err.offset == 39 and "at least 40" in str(err)
    short = bytearray(good)
    struct.pack_into("<I", short, 16, 23)
    assert _error(bytes(short)).offset == 16
    long = bytearray(good)
    struct.pack_into("<I", long, 16, len(good) - 16 + 1)
    err = _error(bytes(long))
    assert err.offset == 16 and "past the end" in str(err)
    struct.pack_into("<I", long, 16, len(good) - 16)  # exactly fits: empty payload
    assert authfile.decode(bytes(long)).payload == b""
    wrong_type = bytearray(good)
    struct.pack_into("<H", wrong_type, 22, 0x0EF0)
    err = _error(bytes(wrong_type))
    assert err.offset == 22 and "wCertificateType" in str(err)
    wrong_guid = good[:24] + EFI_CERT_X509.bytes_le + good[40:]
    err = _error(wrong_guid)
    assert err.offset == 24 and "CertType" in str(err)
    assert not authfile.probe(wrong_guid)
    assert authfile.classify(wrong_guid) is AuthDescriptorKind.UNKNOWN


def test_count_based_descriptor_is_unsupported() -> None:
    cert_block = UUID("51aa59de-fdf2-4ea3-bc63-875fb7842ee9").bytes_le + bytes(256) + bytes(256)
    data = (
        struct.pack("<Q", 7)
        + struct.pack("<IHH", 24 + len(cert_block), 0x0200, 0x0EF1)
        + EFI_CERT_TYPE_RSA2048_SHA256.bytes_le
        + cert_block
        + b"payload"
    )
    assert len(data) == authfile.AUTHINFO_SIZE + 7
    assert authfile.classify(data) is AuthDescriptorKind.AUTHENTICATION
    err = _error(data)
    assert "not supported" in str(err) and err.offset == 0
    assert not authfile.probe(data)
    assert "not supported" in str(_error(data[:32]))


@settings(max_examples=80, deadline=None)
@given(
    st.binary(min_size=16, max_size=16),
    st.binary(max_size=80),
    st.binary(max_size=80),
    st.integers(0, 0xFFFF),
)
def test_round_trip_property(stamp: bytes, pkcs7: bytes, payload: bytes, revision: int) -> None:
    timestamp = EfiTime.from_bytes(stamp)
    data = authfile.build(timestamp, pkcs7, payload)
    auth = authfile.decode(data)
    assert (auth.timestamp, auth.cert_data, auth.payload) == (timestamp, pkcs7, payload)
    assert auth.encode() == data
    other = VariableAuthentication2(timestamp, EFI_CERT_TYPE_PKCS7, revision, 0x0EF1, pkcs7, payload)
    assert authfile.decode(other.encode()) == other
    tree = auth.fields()
    assert tree.end == len(data) and tree.children[-1].end == len(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    header = (
        STAMP.to_bytes()
        + struct.pack("<IHH", 24 + len(data) // 2, 0x0200, 0x0EF1)
        + EFI_CERT_TYPE_PKCS7.bytes_le
    )
    for candidate in (data, header + data, data[:16] + header[16:] + data[16:]):
        with contextlib.suppress(DecodeError):
            auth = authfile.decode(candidate)
            assert auth.encode() == candidate
            auth.fields()


def test_encode_rejects_out_of_range_header_values() -> None:
    with pytest.raises(EncodeError):
        VariableAuthentication2(STAMP, EFI_CERT_TYPE_PKCS7, 0x10000, 0x0EF1, b"", b"").encode()


# --- real Microsoft updates (kept outside the repository) ----------------------------------


@pytest.fixture
def signed_dir() -> Path:
    if not SIGNED_DIR.is_dir():
        pytest.skip(f"{SIGNED_DIR} not present (Microsoft's signed updates are not part of the repository)")
    return SIGNED_DIR


@pytest.mark.parametrize("name", ["DBXUpdate-amd64.bin", "KEKUpdate-signed-by-windows-oem-devices-pk.bin"])
def test_microsoft_updates(signed_dir: Path, name: str) -> None:
    data = (signed_dir / name).read_bytes()
    assert authfile.probe(data)
    auth = authfile.decode(data)
    assert auth.encode() == data
    assert auth.timestamp == EfiTime(2010, 3, 6, 19, 17, 21)
    assert auth.win_cert_revision == 0x0200
    assert auth.cert_data[:2] == b"\x30\x82" and not auth.is_content_info
    lists = esl.decode(auth.payload)
    assert lists.list_count >= 1
    assert auth.signed_content("KEK", EFI_GLOBAL_VARIABLE, NV_BS_RT_AT | AP).endswith(auth.payload)
