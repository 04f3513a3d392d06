""".esl files: outer EFI_SIGNATURE_LIST framing."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.codec import aws, esl
from uefivars_gui.codec.esl import EslFile, walk_signature_lists
from uefivars_gui.core.guid import EFI_CERT_SHA256, EFI_CERT_X509, MICROSOFT_VENDOR, OVMF_ENROLL_DEFAULT_KEYS
from uefivars_gui.errors import DecodeError

AWS_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "aws" / "OVMF_VARS_4M.ms.uefivars-1.2.aws"


def siglist(
    signature_type: UUID, entries: list[tuple[UUID, bytes]], header: bytes = b"", size: int = 0
) -> bytes:
    """An EFI_SIGNATURE_LIST built by hand; all entries must have one size."""
    signature_size = size or (16 + len(entries[0][1]) if entries else 48)
    body = b"".join(owner.bytes_le + data for owner, data in entries)
    total = 28 + len(header) + len(body)
    return signature_type.bytes_le + struct.pack("<III", total, len(header), signature_size) + header + body


SHA_LIST = siglist(EFI_CERT_SHA256, [(MICROSOFT_VENDOR, bytes(32)), (OVMF_ENROLL_DEFAULT_KEYS, b"\x11" * 32)])
CERT_LIST = siglist(EFI_CERT_X509, [(MICROSOFT_VENDOR, b"\x30\x82" + bytes(98))])


def _error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        EslFile.decode(data)
    return info.value


def test_decode_two_lists() -> None:
    data = CERT_LIST + SHA_LIST
    file = esl.decode(data)
    assert file.list_count == 2 and file.signature_count == 3
    assert file.encode() == data and esl.encode(file) == data
    assert file.list_bytes(0) == CERT_LIST and file.list_bytes(1) == SHA_LIST
    first, second = file.lists
    assert (first.offset, first.signature_type, first.signature_size) == (0, EFI_CERT_X509, 116)
    assert (second.offset, second.signature_count, second.signatures_offset) == (
        len(CERT_LIST),
        2,
        len(CERT_LIST) + 28,
    )
    assert EslFile.from_lists([CERT_LIST, SHA_LIST]) == file
    assert esl.probe(data)
    database = file.database()
    assert database.entry_count == 3 and database.to_bytes() == data


def test_fields() -> None:
    data = CERT_LIST + SHA_LIST
    tree = esl.decode(data).fields()
    assert (tree.offset, tree.length) == (0, len(data))
    second = tree.children[1]
    assert (second.offset, second.length) == (len(CERT_LIST), len(SHA_LIST))
    names = [c.name for c in second.children]
    assert names == [
        "SignatureType",
        "SignatureListSize",
        "SignatureHeaderSize",
        "SignatureSize",
        "EFI_SIGNATURE_DATA[0]",
        "EFI_SIGNATURE_DATA[1]",
    ]
    entry = second.children[5]
    owner, payload = entry.children
    assert owner.offset == len(CERT_LIST) + 28 + 48 and owner.text == "OvmfEnrollDefaultKeys"
    assert (payload.offset, payload.length) == (owner.offset + 16, 32)
    assert tree.deepest_at(len(CERT_LIST) + 17).name == "SignatureListSize"  # type: ignore[union-attr]
    assert all(node.warning is None for node in tree.walk())


def test_signature_header_and_empty_list() -> None:
    with_header = siglist(EFI_CERT_SHA256, [(MICROSOFT_VENDOR, bytes(32))], header=b"HDR!")
    empty = siglist(EFI_CERT_SHA256, [])
    file = esl.decode(with_header + empty)
    assert [h.signature_count for h in file.lists] == [1, 0]
    assert file.lists[0].signatures_offset == 32
    tree = file.fields()
    assert tree.children[0].find("SignatureHeader") is not None
    assert tree.children[1].warning == "no signatures"


def test_framing_errors_carry_offsets() -> None:
    assert _error(b"").offset == 0
    err = _error(SHA_LIST + bytes(27))
    assert err.offset == len(SHA_LIST) and "list header" in str(err)
    small = bytearray(SHA_LIST)
    struct.pack_into("<I", small, 16, 27)
    assert _error(bytes(small)).offset == 16
    err = _error(CERT_LIST + SHA_LIST[:-1])
    assert err.offset == len(CERT_LIST) + 16 and "past the end" in str(err)
    header = bytearray(SHA_LIST)
    struct.pack_into("<I", header, 20, len(SHA_LIST))
    assert _error(bytes(header)).offset == 20
    tiny = bytearray(SHA_LIST)
    struct.pack_into("<I", tiny, 24, 15)
    assert _error(bytes(tiny)).offset == 24
    uneven = bytearray(SHA_LIST)
    struct.pack_into("<I", uneven, 24, 40)
    err = _error(bytes(uneven))
    assert err.offset == 24 and "multiple" in str(err)
    assert err.what == "ESL"


def test_walk_allows_empty_data() -> None:
    assert walk_signature_lists(b"") == ()
    with pytest.raises(DecodeError) as info:
        walk_signature_lists(b"\0" * 5, what="db")
    assert info.value.what == "db"


def test_probe() -> None:
    assert esl.probe(SHA_LIST)
    assert not esl.probe(b"")
    assert not esl.probe(siglist(UUID(int=1), [(MICROSOFT_VENDOR, bytes(4))]))
    assert esl.decode(siglist(UUID(int=1), [(MICROSOFT_VENDOR, bytes(4))])).fields().children[0].warning
    assert not esl.probe(b"\xff" * 100)


def test_secure_boot_variables_of_a_real_store_frame() -> None:
    store = aws.decode(AWS_SAMPLE.read_bytes()).store
    counts = {name: esl.decode(store.resolve(name).data).list_count for name in ("PK", "KEK", "db", "dbx")}
    assert counts == {"PK": 1, "KEK": 2, "db": 2, "dbx": 1}


_entries = st.integers(0, 40).flatmap(
    lambda size: st.lists(st.tuples(st.uuids(), st.binary(min_size=size, max_size=size)), max_size=4).map(
        lambda entries: (size, entries)
    )
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.uuids(), _entries, st.binary(max_size=6)), min_size=1, max_size=4))
def test_round_trip_property(lists: list[tuple[UUID, tuple[int, list[tuple[UUID, bytes]]], bytes]]) -> None:
    chunks = [siglist(kind, entries, header, size + 16) for kind, (size, entries), header in lists]
    file = EslFile.from_lists(chunks)
    assert [file.list_bytes(i) for i in range(file.list_count)] == chunks
    assert file.signature_count == sum(len(entries) for _, (_, entries), _ in lists)
    assert esl.decode(file.encode()) == file
    assert file.fields().children[-1].end == len(file.data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    for candidate in (data, SHA_LIST + data, SHA_LIST[:16] + data):
        with contextlib.suppress(DecodeError):
            file = esl.decode(candidate)
            assert file.encode() == candidate
            file.fields()
        esl.probe(candidate)
