"""Signature lists: real OVMF values, decode errors, edk2 append de-dup, CheckSignatureListFormat."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.core import guid as g
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.fields import Field
from uefivars_gui.core.siglist import (
    SIGNATURE_TYPES,
    SignatureData,
    SignatureDatabase,
    SignatureList,
    SignatureType,
    append_dedup,
    check_format,
    decode_signature_database,
    decode_x509_hash,
    hash_list,
    merge_qemu_style,
    remove_entries,
    x509_list,
)
from uefivars_gui.errors import DecodeError, EncodeError

DATA = Path(__file__).resolve().parent.parent / "data"
A = UUID("11111111-2222-3333-4444-555555555555")
B = UUID("66666666-7777-8888-9999-aaaaaaaaaaaa")


def sample(name: str) -> bytes:
    return (DATA / "siglist" / f"ms-{name}.bin").read_bytes()


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def raw_list(sig_type: UUID, list_size: int, header_size: int, sig_size: int, body: bytes = b"") -> bytes:
    return sig_type.bytes_le + struct.pack("<III", list_size, header_size, sig_size) + body


# --- real values of the Debian OVMF_VARS_4M.ms store --------------------------------------


@pytest.mark.parametrize("name", ["db", "dbx", "KEK", "PK"])
def test_real_values_round_trip_byte_identical(name: str) -> None:
    data = sample(name.lower())
    db = decode_signature_database(data)
    assert db.to_bytes() == data
    assert db.size == len(data)
    assert check_format(db, is_pk=name == "PK") == []


def test_ms_db_holds_the_two_microsoft_2011_certificates() -> None:
    db = decode_signature_database(sample("db"))
    assert [(e.list_index, e.entry_index, e.signature_type, e.owner) for e in db.entries()] == [
        (0, 0, g.EFI_CERT_X509, g.MICROSOFT_VENDOR),
        (1, 0, g.EFI_CERT_X509, g.MICROSOFT_VENDOR),
    ]
    assert db.certificates() == (
        (DATA / "certs" / "ms-windows-production-pca-2011.der").read_bytes(),
        (DATA / "certs" / "ms-uefi-ca-2011.der").read_bytes(),
    )
    assert db.summary() == "2 entries: 2 X.509"


def test_ms_kek_has_the_distribution_key_and_microsoft_kek_ca() -> None:
    db = decode_signature_database(sample("kek"))
    owners = [e.owner for e in db.entries()]
    assert owners == [g.OVMF_ENROLL_DEFAULT_KEYS, g.MICROSOFT_VENDOR]
    assert db.certificates()[1] == (DATA / "certs" / "ms-kek-ca-2011.der").read_bytes()


def test_ms_pk_is_one_certificate_and_dbx_one_sha256() -> None:
    pk = decode_signature_database(sample("pk"))
    assert pk.entry_count == 1 and len(pk.lists) == 1
    assert pk.lists[0].entries[0].owner == g.EFI_GLOBAL_VARIABLE
    dbx = decode_signature_database(sample("dbx"))
    (entry,) = list(dbx)
    assert entry.signature_type == g.EFI_CERT_SHA256
    assert entry.owner == g.OVMF_ENROLL_DEFAULT_KEYS
    assert entry.data == hashlib.sha256(b"").digest()
    assert dbx.summary() == "1 entry: 1 SHA-256"


def test_entry_offsets_point_at_the_owner_guid() -> None:
    data = sample("kek")
    db = decode_signature_database(data)
    for entry in db.entries():
        assert data[entry.offset : entry.offset + 16] == entry.owner.bytes_le
        assert data[entry.offset + 16 : entry.offset + 16 + len(entry.data)] == entry.data


def test_fields_have_spans_and_use_the_describer() -> None:
    data = sample("db")
    db = decode_signature_database(data)

    def describe(der: bytes) -> tuple[str, tuple[Field, ...]]:
        return f"cert of {len(der)} bytes", (Field("Inner", 2, 3, "x", warning="old"),)

    root = db.fields(describe)
    assert (root.offset, root.length) == (0, len(data))
    assert root.text == "2 entries: 2 X.509 (cert of 1499 bytes, cert of 1556 bytes)"
    list1 = root.children[1]
    assert (list1.offset, list1.length) == (1543, 1600)
    assert [c.name for c in list1.children][:4] == [
        "SignatureType",
        "SignatureListSize",
        "SignatureHeaderSize",
        "SignatureSize",
    ]
    owner = root.find("SignatureOwner")
    assert owner is not None and (owner.offset, owner.length, owner.text) == (28, 16, "MicrosoftVendor")
    inner = root.deepest_at(1543 + 28 + 16 + 3)
    assert inner is not None and inner.name == "Inner" and inner.offset == 1543 + 28 + 16 + 2
    signature = list1.children[4]
    assert signature.warning == "old"  # warnings of the certificate surface on the entry
    for field in root.walk():
        assert field.offset >= 0 and field.end <= len(data)


def test_fields_without_describer_and_failing_describer() -> None:
    db = decode_signature_database(sample("pk"))
    data_field = db.fields().find("SignatureData")
    assert data_field is not None and data_field.text == "X.509 certificate, 961 bytes DER"

    def broken(der: bytes) -> tuple[str, tuple[Field, ...]]:
        raise DecodeError("nope")

    data_field = db.fields(broken).find("SignatureData")
    assert data_field is not None and data_field.warning == "nope"
    assert db.summary(broken) == "1 entry: 1 X.509 (unparseable certificate)"


# --- decode errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "offset", "needle"),
    [
        (b"\0" * 27, 0, "truncated"),
        (raw_list(g.EFI_CERT_SHA256, 20, 0, 48), 16, "smaller than the 28-byte header"),
        (raw_list(g.EFI_CERT_SHA256, 76, 0, 48, b"\0" * 47), 16, "runs past the end"),
        (raw_list(g.EFI_CERT_SHA256, 28, 0, 0), 24, "SignatureSize 0"),
        (raw_list(g.EFI_CERT_SHA256, 28, 0, 15), 24, "SignatureSize 15"),
        (raw_list(g.EFI_CERT_SHA256, 75, 0, 48, b"\0" * 47), 16, "not a multiple"),
        (raw_list(g.EFI_CERT_SHA256, 30, 4, 48, b"\0" * 2), 20, "SignatureHeaderSize 4"),
    ],
)
def test_malformed_lists_raise_decode_error_with_offset(data: bytes, offset: int, needle: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_signature_database(data)
    assert info.value.offset == offset
    assert needle in str(info.value)


def test_error_offset_is_absolute_for_a_later_list() -> None:
    good = sample("dbx")
    with pytest.raises(DecodeError) as info:
        decode_signature_database(good + good[:20])
    assert info.value.offset == len(good)


def test_empty_data_is_an_empty_database_and_header_bytes_round_trip() -> None:
    assert decode_signature_database(b"") == SignatureDatabase()
    assert SignatureDatabase().summary() == "empty"
    odd = raw_list(B, 28 + 3 + 20, 3, 20, b"hdr" + A.bytes_le + b"abcd") + raw_list(A, 28, 0, 16)
    db = decode_signature_database(odd)
    assert db.lists[0].header == b"hdr" and db.lists[0].entries[0].data == b"abcd"
    assert db.lists[1].entries == ()
    assert db.to_bytes() == odd
    assert check_format(db) == [
        f"list 0 (offset 0x0): unknown signature type {B}",
        "list 0 (offset 0x0): SignatureHeaderSize is 3, must be 0",
        f"list 1 (offset 0x33): unknown signature type {A}",
    ]


# --- builders ----------------------------------------------------------------------------


def test_x509_and_hash_list_builders() -> None:
    cert = x509_list(b"\x30\x03\x02\x01\x01", A)
    assert cert.signature_size == 21 and cert.list_size == 49
    hashes = hash_list(g.EFI_CERT_SHA256, [sha("a"), sha("b")], B)
    assert hashes.list_size == 28 + 2 * 48
    db = SignatureDatabase((cert, hashes))
    assert decode_signature_database(db.to_bytes()) == db
    assert db.summary() == "3 entries: 1 X.509, 2 SHA-256"
    with pytest.raises(EncodeError):
        hash_list(g.EFI_CERT_SHA256, [b"short"], A)
    with pytest.raises(EncodeError):
        hash_list(g.EFI_CERT_X509, [b"x"], A)
    with pytest.raises(EncodeError):
        hash_list(g.EFI_CERT_SHA256, [], A)
    with pytest.raises(EncodeError):
        SignatureList(g.EFI_CERT_SHA256, b"", 48, (SignatureData(A, b"x"),))
    with pytest.raises(EncodeError):
        x509_list(b"", A)


def test_x509_tbs_hash_struct() -> None:
    when = EfiTime(2024, 5, 6, 7, 8, 9)
    tbs = b"\x11" * 48
    lst = hash_list(g.EFI_CERT_X509_SHA384, [tbs + when.to_bytes()], A)
    value = decode_x509_hash(g.EFI_CERT_X509_SHA384, lst.entries[0].data)
    assert value.to_be_signed_hash == tbs and value.time_of_revocation == when
    assert value.revocation_text == "revoked from 2024-05-06T07:08:09"
    root = SignatureDatabase((lst,)).fields()
    revocation = root.find("TimeOfRevocation")
    assert revocation is not None and (revocation.offset, revocation.length) == (28 + 16 + 48, 16)
    zero = decode_x509_hash(g.EFI_CERT_X509_SHA256, bytes(48))
    assert zero.revocation_text == "always revoked"
    with pytest.raises(DecodeError):
        decode_x509_hash(g.EFI_CERT_X509_SHA256, bytes(47))
    with pytest.raises(DecodeError):
        decode_x509_hash(g.EFI_CERT_SHA256, bytes(48))


# --- append de-dup (edk2 FilterSignatureList) --------------------------------------------


def test_append_dedup_drops_exact_duplicates_only() -> None:
    old = SignatureDatabase((hash_list(g.EFI_CERT_SHA256, [sha("a"), sha("b")], A),))
    new = SignatureDatabase((hash_list(g.EFI_CERT_SHA256, [sha("a")], A),))
    assert append_dedup(old, new) == old  # everything was a duplicate: old unchanged

    same_data_other_owner = SignatureDatabase((hash_list(g.EFI_CERT_SHA256, [sha("a")], B),))
    assert append_dedup(old, same_data_other_owner) == old + same_data_other_owner


def test_append_dedup_partial_duplicates_keep_their_list_header() -> None:
    old = SignatureDatabase((hash_list(g.EFI_CERT_SHA256, [sha("a"), sha("b")], A), x509_list(b"CERT", A)))
    header = b"HH"
    new_list = SignatureList(
        g.EFI_CERT_SHA256, header, 48, tuple(SignatureData(A, sha(t)) for t in ("b", "c", "a", "d"))
    )
    new = SignatureDatabase((new_list, x509_list(b"CERT", A), x509_list(b"CERT", B)))
    merged = append_dedup(old, new)
    assert merged.lists[:2] == old.lists
    assert merged.lists[2] == SignatureList(
        g.EFI_CERT_SHA256, header, 48, (SignatureData(A, sha("c")), SignatureData(A, sha("d")))
    )
    assert merged.lists[3] == x509_list(b"CERT", B)
    assert len(merged.lists) == 4
    assert merged.to_bytes().startswith(old.to_bytes())


def test_append_dedup_needs_same_type_and_signature_size() -> None:
    old = SignatureDatabase((hash_list(g.EFI_CERT_SHA256, [sha("a")], A),))
    other_type = SignatureDatabase((SignatureList(g.EFI_CERT_SM3, b"", 48, (SignatureData(A, sha("a")),)),))
    assert append_dedup(old, other_type).entry_count == 2
    # same bytes in a list of another SignatureSize (X.509 lists differ per certificate)
    old_x = SignatureDatabase((x509_list(b"AAAA", A),))
    new_x = SignatureDatabase((x509_list(b"AAAA", A), x509_list(b"AAAAB", A)))
    assert append_dedup(old_x, new_x) == SignatureDatabase((x509_list(b"AAAA", A), x509_list(b"AAAAB", A)))


def test_append_dedup_keeps_duplicates_inside_the_new_data() -> None:
    new = SignatureDatabase((hash_list(g.EFI_CERT_SHA256, [sha("x"), sha("x")], A),))
    assert append_dedup(SignatureDatabase(), new) == new


def test_merge_qemu_style_regenerates_lists() -> None:
    old = SignatureDatabase((x509_list(b"C1", A), hash_list(g.EFI_CERT_SHA256, [sha("a")], A)))
    new = SignatureDatabase(
        (
            x509_list(b"C1", B),  # same certificate, other owner: dropped
            x509_list(b"C2", B),
            hash_list(g.EFI_CERT_SHA256, [sha("a"), sha("b")], B),
            hash_list(g.EFI_CERT_SHA384, [bytes(48)], B),  # other types are dropped
        )
    )
    merged = merge_qemu_style(old, new)
    assert merged == SignatureDatabase(
        (
            x509_list(b"C1", A),
            x509_list(b"C2", B),
            SignatureList(
                g.EFI_CERT_SHA256, b"", 48, (SignatureData(A, sha("a")), SignatureData(B, sha("b")))
            ),
        )
    )
    # parsing stops at the first list QEMU considers malformed
    two_certs = SignatureList(g.EFI_CERT_X509, b"", 18, (SignatureData(A, b"C3"), SignatureData(A, b"C4")))
    stop = SignatureDatabase((two_certs, x509_list(b"C5", A)))
    assert merge_qemu_style(old, stop) == SignatureDatabase(old.lists)


def test_remove_entries_drops_emptied_lists() -> None:
    db = SignatureDatabase((hash_list(g.EFI_CERT_SHA256, [sha("a"), sha("b")], A), x509_list(b"C", B)))
    fewer = remove_entries(db, lambda e: e.data == sha("a"))
    assert fewer.lists[0].entries == (SignatureData(A, sha("b")),)
    assert fewer.lists[1] == db.lists[1]
    only_hashes = remove_entries(db, lambda e: e.owner == B)
    assert only_hashes == SignatureDatabase((db.lists[0],))
    assert remove_entries(db, lambda e: False) == db


# --- CheckSignatureListFormat ------------------------------------------------------------


def test_check_format_problems() -> None:
    assert SIGNATURE_TYPES[g.EFI_CERT_SM3].supported is False
    db = SignatureDatabase(
        (
            SignatureList(g.EFI_CERT_SM3, b"", 48, (SignatureData(A, bytes(32)),)),
            SignatureList(g.EFI_CERT_TYPE_PKCS7, b"", 20, (SignatureData(A, bytes(4)),)),
            SignatureList(g.EFI_CERT_SHA256, b"", 36, (SignatureData(A, bytes(20)),)),
            SignatureList(g.EFI_CERT_X509, b"", 30, ()),
        )
    )
    problems = check_format(db)
    assert len(problems) == 4
    assert "SM3 lists are rejected" in problems[0]
    assert "PKCS#7 lists are rejected" in problems[1]
    assert "SignatureSize 36 should be 48 for SHA-256" in problems[2]
    assert "X.509 list without a certificate" in problems[3]


def test_check_format_pk_count_rsa_hook_and_bytes() -> None:
    two = SignatureDatabase((x509_list(b"K1", A), x509_list(b"K2", A)))
    assert check_format(two) == []
    assert check_format(two, is_pk=True) == ["PK holds 2 signatures; at most one is allowed"]
    checked: list[bytes] = []

    def is_rsa(der: bytes) -> bool:
        checked.append(der)
        return der == b"K1"

    assert check_format(two, is_rsa=is_rsa) == [
        "list 1 (offset 0x2e): the certificate is not an RSA certificate (edk2 accepts only RSA)"
    ]
    assert checked == [b"K1", b"K2"]
    assert check_format(sample("db")) == []
    (problem,) = check_format(sample("db")[:-1])
    assert "runs past the end" in problem


# --- hypothesis --------------------------------------------------------------------------

guids = st.uuids()
fixed = st.sampled_from([t for t in SIGNATURE_TYPES.values() if t.data_size is not None])


@st.composite
def signature_lists(draw: st.DrawFn) -> SignatureList:
    sig_type = draw(st.one_of(st.sampled_from(list(SIGNATURE_TYPES)), guids))
    size = draw(st.integers(16, 80))
    entries = draw(
        st.lists(
            st.builds(SignatureData, guids, st.binary(min_size=size - 16, max_size=size - 16)), max_size=4
        )
    )
    return SignatureList(sig_type, draw(st.binary(max_size=6)), size, tuple(entries))


@given(st.lists(signature_lists(), max_size=4))
@settings(max_examples=150, deadline=None)
def test_hypothesis_build_encode_decode_round_trip(lists: list[SignatureList]) -> None:
    db = SignatureDatabase(tuple(lists))
    data = db.to_bytes()
    assert decode_signature_database(data) == db
    assert decode_signature_database(data).to_bytes() == data
    assert db.fields().length == len(data)
    check_format(db)
    db.summary()


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_hypothesis_random_bytes_only_raise_decode_error(data: bytes) -> None:
    try:
        db = decode_signature_database(data)
    except DecodeError:
        return
    assert db.to_bytes() == data
    db.fields()
    check_format(data)


@given(st.lists(signature_lists(), max_size=3), st.lists(signature_lists(), max_size=3))
@settings(max_examples=100, deadline=None)
def test_hypothesis_append_dedup_is_old_prefix_and_idempotent(
    old: list[SignatureList], new: list[SignatureList]
) -> None:
    old_db, new_db = SignatureDatabase(tuple(old)), SignatureDatabase(tuple(new))
    merged = append_dedup(old_db, new_db)
    assert merged.lists[: len(old)] == old_db.lists
    assert append_dedup(merged, new_db) == merged


@given(fixed, st.lists(guids, min_size=1, max_size=3))
def test_hypothesis_hash_list_sizes(sig_type: SignatureType, owners: list[UUID]) -> None:
    assert sig_type.data_size is not None
    lst = hash_list(sig_type.guid, [bytes(sig_type.data_size)] * len(owners), owners[0])
    assert lst.signature_size == sig_type.data_size + 16
    if sig_type.supported:
        assert check_format(SignatureDatabase((lst,))) == []
