"""Just enough DER to read a certificate's subject Common Name (standard library only).

QEMU's digest for private authenticated variables hashes the signer's CN as GnuTLS
returns it (``gnutls_x509_crt_get_dn_by_oid(..., COMMON_NAME, 0, raw=0)``): the first CN
of the subject, as a UTF-8 string without NUL. The crypto layer is not used here so that
device/ stays free of third-party imports.
"""

from __future__ import annotations

_OID_COMMON_NAME = bytes.fromhex("550403")

# string types and how GnuTLS turns them into text
_UTF8_LIKE = {
    0x0C,
    0x13,
    0x14,
    0x16,
    0x1A,
}  # UTF8String, PrintableString, T61String, IA5String, VisibleString
_BMP_STRING = 0x1E
_UNIVERSAL_STRING = 0x1C


class DerError(ValueError):
    """Malformed DER."""


def _tlv(data: bytes, off: int, end: int) -> tuple[int, int, int]:
    """Tag, content start and content end of the element at ``off``."""
    if off + 2 > end:
        raise DerError("truncated element")
    tag = data[off]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not supported")
    first = data[off + 1]
    pos = off + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise DerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise DerError("element exceeds its container")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    pos = start
    while pos < end:
        tag, cstart, cend = _tlv(data, pos, end)
        items.append((tag, cstart, cend))
        pos = cend
    return items


def subject_common_name(cert: bytes) -> bytes | None:
    """The first subject CN of a DER certificate as UTF-8 bytes, or None."""
    try:
        return _subject_cn(bytes(cert))
    except DerError:
        return None


def _subject_cn(der: bytes) -> bytes | None:
    tag, start, end = _tlv(der, 0, len(der))
    if tag != 0x30:
        raise DerError("certificate is not a SEQUENCE")
    parts = _children(der, start, end)
    if not parts or parts[0][0] != 0x30:
        raise DerError("no tbsCertificate")
    tbs = _children(der, parts[0][1], parts[0][2])
    index = 1 if tbs and tbs[0][0] == 0xA0 else 0  # optional [0] version
    # serialNumber, signature, issuer, validity, subject
    if len(tbs) < index + 5:
        raise DerError("tbsCertificate too short")
    subj_tag, subj_start, subj_end = tbs[index + 4]
    if subj_tag != 0x30:
        raise DerError("subject is not a SEQUENCE")
    for rdn_tag, rdn_start, rdn_end in _children(der, subj_start, subj_end):
        if rdn_tag != 0x31:
            raise DerError("RDN is not a SET")
        for atv_tag, atv_start, atv_end in _children(der, rdn_start, rdn_end):
            if atv_tag != 0x30:
                raise DerError("AttributeTypeAndValue is not a SEQUENCE")
            atv = _children(der, atv_start, atv_end)
            if len(atv) != 2 or atv[0][0] != 0x06:
                raise DerError("bad AttributeTypeAndValue")
            if der[atv[0][1] : atv[0][2]] != _OID_COMMON_NAME:
                continue
            vtag, vstart, vend = atv[1]
            value = der[vstart:vend]
            if vtag in _UTF8_LIKE:
                return value
            if vtag == _BMP_STRING:
                return value.decode("utf-16-be", "replace").encode("utf-8")
            if vtag == _UNIVERSAL_STRING:
                return value.decode("utf-32-be", "replace").encode("utf-8")
            return value
    return None
