"""PKCS#7 SignedData as used by EFI_VARIABLE_AUTHENTICATION_2: parse, verify, sign.

The verifier follows edk2's ``Pkcs7Verify`` (OpenSSL ``PKCS7_verify`` with
``PKCS7_BINARY``, ``X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME`` and
``X509_PURPOSE_ANY``):

* the content is detached (supplied by the caller: the serialised variable update);
* the signer certificate must be embedded in ``SignedData.certificates``;
* the chain from the signer through embedded certificates must reach one of the trusted
  certificates; a trusted certificate anywhere in that chain ends it (partial chain), it
  need not be self-signed, and validity dates are ignored (but reported);
* with signed attributes the ``messageDigest`` attribute must equal the content digest and
  the signature covers the DER ``SET OF`` attributes, otherwise it covers the content.

:func:`edk2_format_check` reproduces the byte-level heuristics in front of that
verification: edk2's ``WrapPkcs7Data`` and fixed-offset digest OID detection, and QEMU
10.0.2's ``wrap_pkcs7`` test that mis-detects a ContentInfo wrapper (byte 15 ``0x0a``).

DER is walked by a small reader of our own (so every error carries a byte offset); the
leaf values are decoded with pyasn1 and the signatures are checked with cryptography.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.utils import CryptographyDeprecationWarning
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ, useful
from pyasn1_modules import rfc5280, rfc5652

from ..core.fields import Field
from ..errors import DecodeError, EncodeError, UsageError
from .keys import PrivateKey, PrivateKeyTypes, certificate_der

__all__ = [
    "FormatCheck",
    "SignedDataInfo",
    "SignerInfo",
    "VerifyResult",
    "edk2_format_check",
    "parse_signed_data",
    "sign",
    "signer_certificates",
    "unwrap_content_info",
    "verify",
    "wrap_content_info",
]

_WHAT = "PKCS#7"
# What pyasn1 may raise on hostile input besides its own errors (e.g. huge lengths).
_ASN1_ERRORS = (PyAsn1Error, OverflowError, ValueError, TypeError, IndexError, UnicodeDecodeError)

# --- object identifiers ------------------------------------------------------------------

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
OID_RSASSA_PSS = "1.2.840.113549.1.1.10"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"

_DIGESTS: dict[str, str] = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_DIGEST_OIDS: dict[str, str] = {name: oid for oid, name in _DIGESTS.items()}

_OID_NAMES: dict[str, str] = {
    **_DIGESTS,
    OID_DATA: "data",
    OID_SIGNED_DATA: "signedData",
    OID_CONTENT_TYPE: "contentType",
    OID_MESSAGE_DIGEST: "messageDigest",
    OID_SIGNING_TIME: "signingTime",
    "1.2.840.113549.1.9.15": "smimeCapabilities",
    OID_RSA_ENCRYPTION: "rsaEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    OID_RSASSA_PSS: "RSASSA-PSS",
    OID_EC_PUBLIC_KEY: "ecPublicKey",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
}

_NAME_ATTRS: dict[str, str] = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "1.2.840.113549.1.9.1": "emailAddress",
}

#: Digests edk2 accepts (FindHashAlgorithmIndex and the EVP_add_digest calls).
EDK2_DIGESTS = frozenset({"sha256", "sha384", "sha512"})
#: The 9 content bytes of the SHA-2 family OIDs edk2 compares at a fixed offset.
_SHA2_OID_PREFIX = bytes.fromhex("6086480165030402")
_EDK2_OID_BYTES: dict[bytes, str] = {
    _SHA2_OID_PREFIX + b"\x01": "sha256",
    _SHA2_OID_PREFIX + b"\x02": "sha384",
    _SHA2_OID_PREFIX + b"\x03": "sha512",
}
_SIGNED_DATA_OID_BYTES = bytes.fromhex("2a864886f70d010702")
_WRAP_HEADER_SIZE = 19


def _hash_algorithm(name: str) -> hashes.HashAlgorithm:
    algorithms: dict[str, hashes.HashAlgorithm] = {
        "sha1": hashes.SHA1(),
        "sha224": hashes.SHA224(),
        "sha256": hashes.SHA256(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }
    return algorithms[name]


def _oid_name(oid: str) -> str:
    return _OID_NAMES.get(oid, oid)


# --- a minimal DER reader ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tlv:
    tag: int
    offset: int
    header: int
    length: int

    @property
    def start(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.header + self.length

    @property
    def size(self) -> int:
        return self.header + self.length


def _read_tlv(data: bytes, offset: int, limit: int) -> _Tlv:
    if offset >= limit:
        raise DecodeError("truncated: an ASN.1 element was expected", offset, what=_WHAT)
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DecodeError(f"unsupported high tag number form (tag byte 0x{tag:02x})", offset, what=_WHAT)
    if offset + 1 >= limit:
        raise DecodeError("truncated ASN.1 length", offset + 1, what=_WHAT)
    first = data[offset + 1]
    if first < 0x80:
        return _checked(_Tlv(tag, offset, 2, first), limit)
    if first == 0x80:
        raise DecodeError("indefinite-length (BER) encoding; DER is expected", offset + 1, what=_WHAT)
    count = first & 0x7F
    if count > 4:
        raise DecodeError(f"ASN.1 length of {count} bytes is not plausible", offset + 1, what=_WHAT)
    if offset + 2 + count > limit:
        raise DecodeError("truncated ASN.1 length", offset + 1, what=_WHAT)
    length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
    return _checked(_Tlv(tag, offset, 2 + count, length), limit)


def _checked(tlv: _Tlv, limit: int) -> _Tlv:
    if tlv.end > limit:
        raise DecodeError(
            f"ASN.1 element of {tlv.length} bytes runs past the end of its container "
            f"({limit - tlv.start} bytes available)",
            tlv.offset,
            what=_WHAT,
        )
    return tlv


def _children(data: bytes, parent: _Tlv) -> list[_Tlv]:
    if not parent.tag & 0x20:
        raise DecodeError(
            f"expected a constructed element, found tag 0x{parent.tag:02x}", parent.offset, what=_WHAT
        )
    kids: list[_Tlv] = []
    pos = parent.start
    while pos < parent.end:
        kid = _read_tlv(data, pos, parent.end)
        kids.append(kid)
        pos = kid.end
    return kids


def _expect(tlv: _Tlv, tag: int, what: str) -> None:
    if tlv.tag != tag:
        raise DecodeError(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv.tag:02x}", tlv.offset, what=_WHAT)


def _raw(data: bytes, tlv: _Tlv) -> bytes:
    return data[tlv.offset : tlv.end]


def _decode_oid(data: bytes, tlv: _Tlv) -> str:
    _expect(tlv, 0x06, "OBJECT IDENTIFIER")
    try:
        value, _ = der_decoder.decode(_raw(data, tlv), asn1Spec=univ.ObjectIdentifier())
    except _ASN1_ERRORS as exc:
        raise DecodeError(f"bad OBJECT IDENTIFIER ({exc})", tlv.offset, what=_WHAT) from None
    return str(value)


def _decode_int(data: bytes, tlv: _Tlv) -> int:
    _expect(tlv, 0x02, "INTEGER")
    if tlv.length == 0:
        raise DecodeError("empty INTEGER", tlv.offset, what=_WHAT)
    return int.from_bytes(data[tlv.start : tlv.end], "big", signed=True)


def _algorithm(data: bytes, tlv: _Tlv, what: str) -> str:
    _expect(tlv, 0x30, what)
    kids = _children(data, tlv)
    if not kids:
        raise DecodeError(f"{what}: empty AlgorithmIdentifier", tlv.offset, what=_WHAT)
    return _decode_oid(data, kids[0])


# --- DER writer (for sign and wrap) ------------------------------------------------------


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, *parts: bytes) -> bytes:
    content = b"".join(parts)
    return bytes([tag]) + _der_length(len(content)) + content


def _der_oid(oid: str) -> bytes:
    return bytes(der_encoder.encode(univ.ObjectIdentifier(oid)))


def _der_int(value: int) -> bytes:
    return bytes(der_encoder.encode(univ.Integer(value)))


# --- names -------------------------------------------------------------------------------


def _name_text(name_der: bytes) -> str:
    """A readable RFC 4514-like rendering of a DER Name (most specific RDN first)."""
    try:
        name, _ = der_decoder.decode(name_der, asn1Spec=rfc5280.Name())
    except _ASN1_ERRORS:
        return name_der.hex()
    parts: list[str] = []
    for rdn in name.getComponent():
        items: list[str] = []
        for atv in rdn:
            oid = str(atv["type"])
            label = _NAME_ATTRS.get(oid, oid)
            try:
                value, _ = der_decoder.decode(bytes(atv["value"]))
                text = str(value)
            except _ASN1_ERRORS:
                text = "#" + bytes(atv["value"]).hex()
            items.append(f"{label}={text}")
        parts.append("+".join(items))
    return ",".join(reversed(parts))


def _name_key(name_der: bytes) -> str:
    return " ".join(_name_text(name_der).casefold().split())


def _cert_label(cert: x509.Certificate) -> str:
    try:
        cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    except ValueError:
        cns = []
    if cns:
        value = cns[0].value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    try:
        return cert.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unreadable subject)"


def _cert_issuer_and_serial(der: bytes) -> tuple[bytes, int]:
    """The raw issuer Name DER and the serial number of an X.509 certificate."""
    outer = _read_tlv(der, 0, len(der))
    _expect(outer, 0x30, "Certificate")
    tbs = _children(der, outer)[0]
    _expect(tbs, 0x30, "TBSCertificate")
    kids = _children(der, tbs)
    if kids and kids[0].tag == 0xA0:
        kids = kids[1:]
    if len(kids) < 3:
        raise DecodeError("TBSCertificate too short", tbs.offset, what="certificate")
    return _raw(der, kids[2]), _decode_int(der, kids[0])


# --- parse -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """One SignerInfo of a SignedData."""

    version: int
    #: DER of the issuer Name (None when the signer is identified by subject key id).
    issuer: bytes | None
    issuer_text: str | None
    serial_number: int | None
    subject_key_identifier: bytes | None
    digest_algorithm_oid: str
    signature_algorithm_oid: str
    signature: bytes
    #: The signed attributes re-tagged as a DER ``SET OF`` (exactly what is signed), or None.
    signed_attributes: bytes | None
    #: (OID, values DER) of each signed attribute, in encoded order.
    attributes: tuple[tuple[str, tuple[bytes, ...]], ...]
    offset: int
    length: int
    #: Byte spans of the members (relative to the blob start).
    fields: Field = field(compare=False)

    @property
    def digest_algorithm(self) -> str:
        """``sha256`` etc., or the dotted OID when unknown."""
        return _oid_name(self.digest_algorithm_oid)

    @property
    def signature_algorithm(self) -> str:
        return _oid_name(self.signature_algorithm_oid)

    @property
    def has_signed_attributes(self) -> bool:
        return self.signed_attributes is not None

    def attribute(self, oid: str) -> tuple[bytes, ...] | None:
        for attr_oid, values in self.attributes:
            if attr_oid == oid:
                return values
        return None

    def describe(self) -> str:
        if self.issuer_text is not None:
            return f"issuer {self.issuer_text!r}, serial {self.serial_number:#x}"
        ski = self.subject_key_identifier.hex() if self.subject_key_identifier else "?"
        return f"subject key identifier {ski}"


@dataclass(frozen=True, slots=True)
class SignedDataInfo:
    """The decoded structure of a PKCS#7 SignedData blob."""

    #: True when the blob is a ContentInfo wrapping the SignedData, False for bare SignedData.
    wrapped: bool
    version: int
    digest_algorithm_oids: tuple[str, ...]
    content_type: str
    #: True when no content is embedded (a detached signature, as edk2 needs).
    detached: bool
    embedded_content: bytes | None
    #: DER of each embedded X.509 certificate, in encoded order.
    certificates: tuple[bytes, ...]
    #: Entries of the certificates set that are not X.509 certificates (ignored).
    other_certificate_count: int
    crl_count: int
    signer_infos: tuple[SignerInfo, ...]
    #: The bare SignedData DER and where it starts in the blob (0 or the wrapper size).
    signed_data: bytes
    signed_data_offset: int
    #: Bytes after the outermost element (OpenSSL ignores them).
    trailing: int
    fields: Field = field(compare=False)

    @property
    def digest_algorithms(self) -> tuple[str, ...]:
        return tuple(_oid_name(oid) for oid in self.digest_algorithm_oids)


def parse_signed_data(blob: bytes) -> SignedDataInfo:
    """Decode a bare or ContentInfo-wrapped PKCS#7 SignedData. Raises DecodeError."""
    data = bytes(blob)
    if not data:
        raise DecodeError("empty PKCS#7 data", 0, what=_WHAT)
    outer = _read_tlv(data, 0, len(data))
    _expect(outer, 0x30, "PKCS#7 outer SEQUENCE")
    outer_kids = _children(data, outer)
    if not outer_kids:
        raise DecodeError("empty outer SEQUENCE", outer.offset, what=_WHAT)
    wrapper_fields: list[Field] = []
    if outer_kids[0].tag == 0x06:
        content_type = _decode_oid(data, outer_kids[0])
        if content_type != OID_SIGNED_DATA:
            raise DecodeError(
                f"ContentInfo of type {_oid_name(content_type)}, not signedData",
                outer_kids[0].offset,
                what=_WHAT,
            )
        if len(outer_kids) != 2:
            raise DecodeError(
                "ContentInfo must hold exactly a type and a [0] content", outer.offset, what=_WHAT
            )
        explicit = outer_kids[1]
        _expect(explicit, 0xA0, "ContentInfo content")
        inner = _children(data, explicit)
        if len(inner) != 1:
            raise DecodeError("ContentInfo [0] must hold exactly one SignedData", explicit.offset, what=_WHAT)
        sd = inner[0]
        _expect(sd, 0x30, "SignedData")
        wrapped = True
        wrapper_fields = [
            Field("contentType", outer_kids[0].offset, outer_kids[0].size, "signedData"),
        ]
    elif outer_kids[0].tag == 0x02:
        sd = outer
        wrapped = False
    else:
        raise DecodeError(
            f"neither a ContentInfo nor a SignedData (first element has tag 0x{outer_kids[0].tag:02x})",
            outer_kids[0].offset,
            what=_WHAT,
        )
    kids = _children(data, sd) if wrapped else outer_kids
    if len(kids) < 4:
        raise DecodeError(f"SignedData has {len(kids)} elements, at least 4 expected", sd.offset, what=_WHAT)
    version_tlv, algs_tlv, ci_tlv = kids[0], kids[1], kids[2]
    version = _decode_int(data, version_tlv)
    _expect(algs_tlv, 0x31, "SignedData.digestAlgorithms")
    alg_tlvs = _children(data, algs_tlv)
    digest_oids = tuple(_algorithm(data, t, "digestAlgorithm") for t in alg_tlvs)

    _expect(ci_tlv, 0x30, "SignedData.contentInfo")
    ci_kids = _children(data, ci_tlv)
    if not ci_kids:
        raise DecodeError("empty SignedData.contentInfo", ci_tlv.offset, what=_WHAT)
    content_type = _decode_oid(data, ci_kids[0])
    embedded: bytes | None = None
    if len(ci_kids) > 1:
        holder = ci_kids[1]
        _expect(holder, 0xA0, "contentInfo content")
        inner_kids = _children(data, holder)
        if len(inner_kids) != 1:
            raise DecodeError("contentInfo [0] must hold one element", holder.offset, what=_WHAT)
        content_tlv = inner_kids[0]
        if content_tlv.tag == 0x04:
            embedded = data[content_tlv.start : content_tlv.end]
        else:
            embedded = _raw(data, content_tlv)

    rest = kids[3:]
    certs: list[bytes] = []
    cert_fields: list[Field] = []
    other_certs = 0
    crl_count = 0
    cert_field: Field | None = None
    crl_field: Field | None = None
    if rest and rest[0].tag == 0xA0:
        holder = rest.pop(0)
        for index, ctlv in enumerate(_children(data, holder)):
            if ctlv.tag == 0x30:
                der = _raw(data, ctlv)
                certs.append(der)
                cert_fields.append(Field(f"certificate #{index}", ctlv.offset, ctlv.size, _quick_label(der)))
            else:
                other_certs += 1
                cert_fields.append(
                    Field(
                        f"entry #{index}",
                        ctlv.offset,
                        ctlv.size,
                        f"not an X.509 certificate (tag 0x{ctlv.tag:02x})",
                    )
                )
        cert_field = Field(
            "certificates", holder.offset, holder.size, f"{len(certs)} certificate(s)", tuple(cert_fields)
        )
    if rest and rest[0].tag == 0xA1:
        holder = rest.pop(0)
        crl_count = len(_children(data, holder))
        crl_field = Field("crls", holder.offset, holder.size, f"{crl_count} CRL(s)")
    if len(rest) != 1:
        where = rest[1].offset if len(rest) > 1 else sd.end
        raise DecodeError(
            "unexpected elements after SignedData.signerInfos"
            if len(rest) > 1
            else "SignedData.signerInfos missing",
            where,
            what=_WHAT,
        )
    si_set = rest[0]
    _expect(si_set, 0x31, "SignedData.signerInfos")
    signer_infos = tuple(_parse_signer_info(data, t) for t in _children(data, si_set))

    alg_field = Field(
        "digestAlgorithms",
        algs_tlv.offset,
        algs_tlv.size,
        ", ".join(_oid_name(o) for o in digest_oids),
        tuple(
            Field(f"digestAlgorithm #{i}", t.offset, t.size, _oid_name(o))
            for i, (t, o) in enumerate(zip(alg_tlvs, digest_oids, strict=True))
        ),
    )
    ci_text = _oid_name(content_type) + (
        ", detached" if embedded is None else f", {len(embedded)} bytes embedded"
    )
    sd_children = [
        Field("version", version_tlv.offset, version_tlv.size, str(version)),
        alg_field,
        Field(
            "contentInfo",
            ci_tlv.offset,
            ci_tlv.size,
            ci_text,
            warning=None if embedded is None else "content embedded; edk2 expects a detached signature",
        ),
    ]
    if cert_field is not None:
        sd_children.append(cert_field)
    if crl_field is not None:
        sd_children.append(crl_field)
    sd_children.append(
        Field(
            "signerInfos",
            si_set.offset,
            si_set.size,
            f"{len(signer_infos)} signer(s)",
            tuple(_signer_field(i, s) for i, s in enumerate(signer_infos)),
        )
    )
    sd_field = Field("SignedData", sd.offset, sd.size, f"version {version}", tuple(sd_children))
    top = (
        Field("ContentInfo", outer.offset, outer.size, "signedData", (*wrapper_fields, sd_field))
        if wrapped
        else sd_field
    )
    trailing = len(data) - outer.end
    if trailing:
        top = Field(
            "PKCS#7",
            0,
            len(data),
            "",
            (
                top,
                Field(
                    "trailing bytes",
                    outer.end,
                    trailing,
                    str(trailing),
                    warning="bytes after the DER structure",
                ),
            ),
        )
    return SignedDataInfo(
        wrapped=wrapped,
        version=version,
        digest_algorithm_oids=digest_oids,
        content_type=content_type,
        detached=embedded is None,
        embedded_content=embedded,
        certificates=tuple(certs),
        other_certificate_count=other_certs,
        crl_count=crl_count,
        signer_infos=signer_infos,
        signed_data=_raw(data, sd),
        signed_data_offset=sd.offset,
        trailing=trailing,
        fields=top,
    )


def _load_cert(der: bytes) -> x509.Certificate:
    """Parse a DER certificate, quietly tolerating legacy quirks (e.g. negative serials)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            return x509.load_der_x509_certificate(der)
        except x509.InvalidVersion as exc:
            raise ValueError(str(exc)) from None


def _quick_label(der: bytes) -> str:
    try:
        return _cert_label(_load_cert(der))
    except ValueError:
        return "(certificate cannot be parsed)"


def _signer_field(index: int, si: SignerInfo) -> Field:
    text = f"{si.digest_algorithm}, {si.signature_algorithm}"
    if si.has_signed_attributes:
        text += ", signed attributes"
    return Field(f"SignerInfo #{index}", si.offset, si.length, text, si.fields.children)


def _parse_signer_info(data: bytes, tlv: _Tlv) -> SignerInfo:
    _expect(tlv, 0x30, "SignerInfo")
    raw = _raw(data, tlv)
    try:
        decoded, rest = der_decoder.decode(raw, asn1Spec=rfc5652.SignerInfo())
    except _ASN1_ERRORS as exc:
        raise DecodeError(f"malformed SignerInfo ({exc})", tlv.offset, what=_WHAT) from None
    if rest:
        raise DecodeError("trailing bytes in SignerInfo", tlv.end - len(rest), what=_WHAT)
    kids = _children(data, tlv)
    sid_tlv = kids[1]
    issuer: bytes | None = None
    issuer_text: str | None = None
    serial: int | None = None
    ski: bytes | None = None
    if sid_tlv.tag == 0x30:
        sid_kids = _children(data, sid_tlv)
        if len(sid_kids) != 2:
            raise DecodeError("IssuerAndSerialNumber must have two elements", sid_tlv.offset, what=_WHAT)
        issuer = _raw(data, sid_kids[0])
        issuer_text = _name_text(issuer)
        serial = _decode_int(data, sid_kids[1])
    else:
        ski = bytes(decoded["sid"]["subjectKeyIdentifier"])
    signed_attrs: bytes | None = None
    attributes: list[tuple[str, tuple[bytes, ...]]] = []
    for kid in kids[3:]:
        if kid.tag == 0xA0:
            signed_attrs = b"\x31" + data[kid.offset + 1 : kid.end]
            for attr_tlv in _children(data, kid):
                _expect(attr_tlv, 0x30, "Attribute")
                parts = _children(data, attr_tlv)
                if len(parts) != 2:
                    raise DecodeError(
                        "Attribute must have a type and a value set", attr_tlv.offset, what=_WHAT
                    )
                oid = _decode_oid(data, parts[0])
                _expect(parts[1], 0x31, "Attribute values")
                values = tuple(_raw(data, v) for v in _children(data, parts[1]))
                attributes.append((oid, values))
            break
    digest_oid = str(decoded["digestAlgorithm"]["algorithm"])
    sig_oid = str(decoded["signatureAlgorithm"]["algorithm"])
    sid_text = (
        f"issuer {issuer_text!r}, serial {serial:#x}"
        if issuer_text is not None
        else f"subjectKeyIdentifier {ski.hex() if ski else ''}"
    )
    attrs_text = f"{len(attributes)} attribute(s): " + ", ".join(_oid_name(o) for o, _ in attributes)
    # SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs OPTIONAL,
    #                           signatureAlgorithm, signature, [1] unsignedAttrs OPTIONAL }
    member_fields = [
        Field("version", kids[0].offset, kids[0].size, str(int(decoded["version"]))),
        Field("sid", kids[1].offset, kids[1].size, sid_text),
        Field("digestAlgorithm", kids[2].offset, kids[2].size, _oid_name(digest_oid)),
    ]
    for kid in kids[3:]:
        if kid.tag == 0xA0:
            member_fields.append(Field("signedAttrs", kid.offset, kid.size, attrs_text))
        elif kid.tag == 0x30:
            member_fields.append(Field("signatureAlgorithm", kid.offset, kid.size, _oid_name(sig_oid)))
        elif kid.tag == 0x04:
            member_fields.append(Field("signature", kid.offset, kid.size, f"{kid.length} bytes"))
        else:
            member_fields.append(Field("unsignedAttrs", kid.offset, kid.size, ""))
    return SignerInfo(
        version=int(decoded["version"]),
        issuer=issuer,
        issuer_text=issuer_text,
        serial_number=serial,
        subject_key_identifier=ski,
        digest_algorithm_oid=digest_oid,
        signature_algorithm_oid=sig_oid,
        signature=bytes(decoded["signature"]),
        signed_attributes=signed_attrs,
        attributes=tuple(attributes),
        offset=tlv.offset,
        length=tlv.size,
        fields=Field("SignerInfo", tlv.offset, tlv.size, "", tuple(member_fields)),
    )


# --- ContentInfo wrapping ---------------------------------------------------------------


def wrap_content_info(signed_data: bytes) -> bytes:
    """Wrap a bare SignedData into ContentInfo(signedData), DER (what OpenSSL emits)."""
    return _der(0x30, _der_oid(OID_SIGNED_DATA), _der(0xA0, bytes(signed_data)))


def unwrap_content_info(blob: bytes) -> bytes:
    """The bare SignedData of a blob, which may or may not be ContentInfo-wrapped."""
    info = parse_signed_data(blob)
    return info.signed_data


# --- format heuristics (edk2 / QEMU) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormatCheck:
    """What edk2's and QEMU 10.0.2's byte-level tests make of a PKCS#7 blob."""

    size: int
    #: What the DER really is: True ContentInfo-wrapped, False bare SignedData, None unknown.
    wrapped: bool | None
    #: edk2 ``WrapPkcs7Data``: bytes 4..16 say "already wrapped".
    edk2_sees_wrapped: bool
    #: QEMU ``wrap_pkcs7``: the same test but with ``0x0a`` at byte 15.
    qemu_sees_wrapped: bool
    #: Digest named by the OID at edk2's fixed offset, if a SHA-2 OID is there.
    edk2_digest: str | None
    edk2_problem: str | None
    qemu_problem: str | None

    @property
    def edk2_ok(self) -> bool:
        return self.edk2_problem is None

    @property
    def qemu_ok(self) -> bool:
        return self.qemu_problem is None


def _structure(data: bytes) -> bool | None:
    try:
        outer = _read_tlv(data, 0, len(data))
        if outer.tag != 0x30:
            return None
        first = _read_tlv(data, outer.start, outer.end)
    except DecodeError:
        return None
    if first.tag == 0x06:
        return True
    if first.tag == 0x02:
        return False
    return None


def edk2_format_check(blob: bytes) -> FormatCheck:
    """Reproduce edk2's and QEMU 10.0.2's fixed-offset checks on a PKCS#7 blob."""
    data = bytes(blob)
    size = len(data)
    wrapped = _structure(data)
    head_ok = size > 16 and data[4] == 0x06 and data[5] == 0x09 and data[6:15] == _SIGNED_DATA_OID_BYTES
    edk2_sees = head_ok and data[15] == 0xA0 and data[16] == 0x82
    qemu_sees = head_ok and data[15] == 0x0A and data[16] == 0x82

    edk2_problem: str | None = None
    edk2_digest: str | None = None
    len_at, oid_at = (20, 32) if edk2_sees else (1, 13)
    if size < oid_at + 9:
        edk2_problem = f"too short ({size} bytes) for edk2's fixed-offset digest check"
    elif data[len_at] & 0x82 != 0x82:
        edk2_problem = (
            f"byte {len_at} is 0x{data[len_at]:02x}: edk2 expects a 2-byte DER length (0x82) there, "
            "so it cannot find the digest algorithm at its fixed offset"
        )
    else:
        edk2_digest = _EDK2_OID_BYTES.get(data[oid_at : oid_at + 9])
        if edk2_digest is None:
            found = _first_digest_name(data)
            if found in EDK2_DIGESTS:
                edk2_problem = (
                    f"the {found} OID is not at byte {oid_at}, where edk2 looks for it "
                    "(it expects 2-byte DER lengths and a single digest algorithm)"
                )
            elif found is not None:
                edk2_problem = (
                    f"the first digest algorithm is {found}; edk2 accepts only SHA-256, SHA-384 or SHA-512"
                )
            else:
                edk2_problem = f"no SHA-256/384/512 OID at byte {oid_at}, where edk2 looks for the digest"
    if edk2_problem is None and wrapped is True and not edk2_sees:
        edk2_problem = (
            "a ContentInfo edk2's WrapPkcs7Data does not recognise (it would wrap it a second time)"
        )
    if edk2_problem is None and not edk2_sees and size + _WRAP_HEADER_SIZE - 4 > 0xFFFF:
        edk2_problem = f"{size} bytes is too large for edk2's 2-byte-length ContentInfo wrapper"

    qemu_problem: str | None = None
    if qemu_sees:
        qemu_problem = (
            "QEMU takes it as wrapped (byte 15 is 0x0a) and passes a malformed ContentInfo to GnuTLS"
        )
    elif wrapped is True:
        qemu_problem = (
            "ContentInfo-wrapped: QEMU 10.0.2 tests byte 15 for 0x0a instead of 0xa0, wraps it a second "
            "time and GnuTLS refuses it"
        )
    elif wrapped is None:
        qemu_problem = "not a DER SignedData"
    elif size + _WRAP_HEADER_SIZE - 4 > 0xFFFF:
        qemu_problem = f"{size} bytes is too large for QEMU's 2-byte-length ContentInfo wrapper"
    return FormatCheck(
        size=size,
        wrapped=wrapped,
        edk2_sees_wrapped=edk2_sees,
        qemu_sees_wrapped=qemu_sees,
        edk2_digest=edk2_digest,
        edk2_problem=edk2_problem,
        qemu_problem=qemu_problem,
    )


def _first_digest_name(data: bytes) -> str | None:
    try:
        info = parse_signed_data(data)
    except DecodeError:
        return None
    return info.digest_algorithms[0] if info.digest_algorithms else None


# --- verify ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of :func:`verify`."""

    #: edk2 would accept it: signature and chain valid, SHA-256/384/512, format checks pass.
    ok: bool
    #: One or more human sentences: why it failed, or what made it valid (plus notes).
    reason: str
    #: Digest, signature and chain check out cryptographically (any digest incl. SHA-1).
    signature_valid: bool
    #: QEMU 10.0.2's device would accept it (cryptographically; its trust policy aside).
    qemu_ok: bool
    #: True ContentInfo-wrapped, False bare, None when it cannot be parsed.
    wrapped: bool | None
    digest: str | None
    has_signed_attributes: bool
    signer_cert: bytes | None
    #: Signer first, ending with the trusted certificate when the chain was completed.
    chain: tuple[bytes, ...]
    trusted_index: int | None
    trusted_cert: bytes | None
    #: Certificates of the chain whose validity ended before ``at`` (ignored, as edk2 does).
    expired: tuple[bytes, ...]
    #: Certificates of the chain whose validity starts after ``at`` (ignored as well).
    not_yet_valid: tuple[bytes, ...]
    problems: tuple[str, ...]
    format: FormatCheck

    @property
    def edk2_ok(self) -> bool:
        return self.ok


@dataclass(frozen=True, slots=True)
class _Cert:
    der: bytes
    cert: x509.Certificate

    @property
    def label(self) -> str:
        return _cert_label(self.cert)


def _load_certs(ders: Iterable[bytes]) -> tuple[list[tuple[int, _Cert]], list[str]]:
    loaded: list[tuple[int, _Cert]] = []
    notes: list[str] = []
    for index, raw in enumerate(ders):
        try:
            der = certificate_der(raw)
            loaded.append((index, _Cert(der, _load_cert(der))))
        except (ValueError, DecodeError) as exc:
            notes.append(f"certificate #{index} cannot be parsed ({exc})")
    return loaded, notes


def _matches_signer(si: SignerInfo, cert: _Cert) -> bool:
    if si.subject_key_identifier is not None:
        try:
            ext = cert.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except (x509.ExtensionNotFound, ValueError):
            return False
        return ext.value.digest == si.subject_key_identifier
    try:
        issuer, serial = _cert_issuer_and_serial(cert.der)
    except DecodeError:
        return False
    if serial != si.serial_number or si.issuer is None:
        return False
    return issuer == si.issuer or _name_key(issuer) == _name_key(si.issuer)


# Extensions OpenSSL's X509_supported_extension() handles; other critical ones fail the chain.
_SUPPORTED_CRITICAL = frozenset(
    {
        "2.16.840.1.113730.1.1",  # nsCertType
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.37",  # extKeyUsage
        "2.5.29.36",  # policyConstraints
        "2.5.29.30",  # nameConstraints
        "2.5.29.33",  # policyMappings
        "2.5.29.54",  # inhibitAnyPolicy
        "1.3.6.1.5.5.7.1.14",  # proxyCertInfo
        "1.3.6.1.5.5.7.1.7",  # sbgp-ipAddrBlock
        "1.3.6.1.5.5.7.1.8",  # sbgp-autonomousSysNum
        "1.3.6.1.5.5.7.1.24",  # TLS feature
    }
)


def _extension_problem(cert: _Cert) -> str | None:
    try:
        extensions = list(cert.cert.extensions)
    except ValueError as exc:
        return f"certificate {cert.label!r} has unparsable extensions ({exc})"
    for ext in extensions:
        if ext.critical and ext.oid.dotted_string not in _SUPPORTED_CRITICAL:
            return f"certificate {cert.label!r} has an unhandled critical extension {ext.oid.dotted_string}"
    return None


def _ca_kind(cert: _Cert) -> int:
    """OpenSSL's X509_check_ca(): 0 no CA, 1 basicConstraints CA, 3/4 tolerated legacy CA."""
    try:
        return _ca_kind_unchecked(cert)
    except ValueError:  # unparsable extensions
        return 0


def _ca_kind_unchecked(cert: _Cert) -> int:
    try:
        ku = cert.cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.key_cert_sign:
            return 0
        has_ku = True
    except x509.ExtensionNotFound:
        has_ku = False
    try:
        bc = cert.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        return 1 if bc.ca else 0
    except x509.ExtensionNotFound:
        pass
    if cert.cert.version == x509.Version.v1 and cert.cert.issuer == cert.cert.subject:
        return 3
    return 4 if has_ku else 0


def _issued_by(child: _Cert, parent: _Cert) -> bool:
    try:
        child.cert.verify_directly_issued_by(parent.cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


_MAX_CHAIN = 10


def _build_chain(
    leaf: _Cert, embedded: Sequence[_Cert], trusted: Sequence[tuple[int, _Cert]]
) -> tuple[list[_Cert], int | None]:
    chain = [leaf]

    def trusted_index(cert: _Cert) -> int | None:
        for index, anchor in trusted:
            if anchor.der == cert.der:
                return index
        return None

    def extend(current: _Cert) -> int | None:
        hit = trusted_index(current)
        if hit is not None:
            return hit
        if len(chain) >= _MAX_CHAIN:
            return None
        for index, anchor in trusted:
            if _issued_by(current, anchor):
                chain.append(anchor)
                return index
        for candidate in embedded:
            if any(candidate.der == c.der for c in chain):
                continue
            if _issued_by(current, candidate):
                chain.append(candidate)
                found = extend(candidate)
                if found is not None:
                    return found
                chain.pop()
        return None

    return chain, extend(leaf)


def _chain_problems(chain: Sequence[_Cert]) -> list[str]:
    problems: list[str] = []
    for position, cert in enumerate(chain):
        ext_problem = _extension_problem(cert)
        if ext_problem:
            problems.append(ext_problem)
        if position == 0:
            continue
        kind = _ca_kind(cert)
        last = position == len(chain) - 1
        if kind == 0 or (not last and kind != 1):
            problems.append(
                f"certificate {cert.label!r} issues another certificate in the chain but is not a CA "
                "(basicConstraints/keyUsage), which OpenSSL refuses"
            )
    return problems


def _check_signature(si: SignerInfo, signer: _Cert, content: bytes, digest: str) -> str | None:
    """None when the SignerInfo's signature is valid, else the reason."""
    algorithm = _hash_algorithm(digest)
    content_digest = hashlib.new(digest, content).digest()
    if si.signed_attributes is not None:
        values = si.attribute(OID_MESSAGE_DIGEST)
        if values is None or len(values) != 1:
            return "the signed attributes carry no (single) messageDigest attribute"
        try:
            md, _ = der_decoder.decode(values[0], asn1Spec=univ.OctetString())
        except _ASN1_ERRORS:
            return "the messageDigest attribute is not an OCTET STRING"
        if bytes(md) != content_digest:
            return "the content's digest does not match the signed messageDigest attribute (content altered?)"
        signed = si.signed_attributes
        to_verify = hashlib.new(digest, signed).digest()
    else:
        to_verify = content_digest
    try:
        key = signer.cert.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            if si.signature_algorithm_oid == OID_RSASSA_PSS:
                return "RSASSA-PSS signatures are not supported"
            key.verify(si.signature, to_verify, padding.PKCS1v15(), Prehashed(algorithm))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(si.signature, to_verify, ec.ECDSA(Prehashed(algorithm)))
        else:
            return f"unsupported signer key type {type(key).__name__}"
    except InvalidSignature:
        what = "signed attributes" if si.signed_attributes is not None else "content"
        return f"the signature does not match the {what} and the signer's public key"
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"the signer's public key cannot be used ({exc})"
    return None


def verify(
    blob: bytes,
    content: bytes,
    trusted: Sequence[bytes],
    *,
    at: datetime | None = None,
) -> VerifyResult:
    """Verify a detached PKCS#7 signature over ``content`` as edk2's Pkcs7Verify does.

    ``trusted`` holds DER (or PEM) certificates, e.g. the X.509 entries of KEK; ``at`` is
    the moment for the validity report (default: now). Never raises for bad input.
    """
    fmt = edk2_format_check(blob)
    moment = at if at is not None else datetime.now(UTC)
    try:
        info = parse_signed_data(blob)
    except DecodeError as exc:
        reason = f"The PKCS#7 data cannot be parsed: {exc}."
        return VerifyResult(
            ok=False,
            reason=reason,
            signature_valid=False,
            qemu_ok=False,
            wrapped=None,
            digest=None,
            has_signed_attributes=False,
            signer_cert=None,
            chain=(),
            trusted_index=None,
            trusted_cert=None,
            expired=(),
            not_yet_valid=(),
            problems=(reason,),
            format=fmt,
        )

    anchors, trust_notes = _load_certs(trusted)
    embedded, embed_notes = _load_certs(info.certificates)
    embedded_certs = [c for _, c in embedded]
    problems: list[str] = []
    if not info.detached:
        problems.append("The SignedData embeds its content; edk2 expects a detached signature.")
    if not info.signer_infos:
        problems.append("The SignedData has no SignerInfo.")
    if not anchors:
        problems.append(
            "No usable trusted certificate was given"
            + (f" ({'; '.join(trust_notes)})." if trust_notes else ".")
        )

    first_digest: str | None = None
    first_signer: _Cert | None = None
    first_chain: list[_Cert] = []
    first_index: int | None = None
    for number, si in enumerate(info.signer_infos):
        tag = f"SignerInfo #{number}: " if len(info.signer_infos) > 1 else ""
        digest = _DIGESTS.get(si.digest_algorithm_oid)
        if number == 0:
            first_digest = digest or si.digest_algorithm
        if digest is None:
            problems.append(f"{tag}unsupported digest algorithm {si.digest_algorithm}.")
            continue
        signer = next((c for c in embedded_certs if _matches_signer(si, c)), None)
        if signer is None:
            problems.append(
                f"{tag}the signer certificate ({si.describe()}) is not embedded in the SignedData; "
                "edk2 needs it there." + (f" ({'; '.join(embed_notes)})" if embed_notes else "")
            )
            continue
        sig_problem = _check_signature(si, signer, content, digest)
        if sig_problem:
            problems.append(f"{tag}{sig_problem[0].upper()}{sig_problem[1:]}.")
        chain, index = _build_chain(signer, embedded_certs, anchors)
        if number == 0:
            first_signer, first_chain, first_index = signer, chain, index
        if index is None:
            if anchors:
                names = ", ".join(repr(a.label) for _, a in anchors)
                problems.append(
                    f"{tag}the signer {signer.label!r} does not chain to any trusted certificate ({names})."
                )
        else:
            problems.extend(f"{tag}{p[0].upper()}{p[1:]}." for p in _chain_problems(chain))

    signature_valid = not problems
    if signature_valid and first_digest not in EDK2_DIGESTS:
        problems.append(f"The digest algorithm {first_digest} is refused by edk2 (only SHA-256/384/512).")
    elif signature_valid and not fmt.edk2_ok:
        problems.append(f"edk2 would refuse the encoding: {fmt.edk2_problem}.")
    ok = not problems
    qemu_ok = signature_valid and fmt.qemu_ok

    expired: list[bytes] = []
    not_yet: list[bytes] = []
    for cert in first_chain:
        if cert.cert.not_valid_after_utc < moment:
            expired.append(cert.der)
        elif cert.cert.not_valid_before_utc > moment:
            not_yet.append(cert.der)

    trusted_der = None
    if first_index is not None:
        trusted_der = next(a.der for i, a in anchors if i == first_index)
    if ok and first_signer is not None and first_index is not None:
        anchor_label = _cert_label(_load_cert(trusted_der or b""))
        attrs = "signed attributes" if info.signer_infos[0].has_signed_attributes else "no signed attributes"
        sentences = [
            f"Valid: signed by {first_signer.label!r} ({first_digest}, {attrs}); the chain reaches trusted "
            f"certificate #{first_index} {anchor_label!r}."
        ]
    else:
        sentences = list(problems)
    if expired:
        labels = ", ".join(repr(_quick_label(d)) for d in expired)
        sentences.append(f"Expired, which edk2 ignores: {labels}.")
    if not_yet:
        labels = ", ".join(repr(_quick_label(d)) for d in not_yet)
        sentences.append(f"Not yet valid, which edk2 ignores: {labels}.")
    if signature_valid and not fmt.qemu_ok:
        sentences.append(f"QEMU 10.0.2 would refuse it: {fmt.qemu_problem}.")
    return VerifyResult(
        ok=ok,
        reason=" ".join(sentences),
        signature_valid=signature_valid,
        qemu_ok=qemu_ok,
        wrapped=info.wrapped,
        digest=first_digest,
        has_signed_attributes=bool(info.signer_infos) and info.signer_infos[0].has_signed_attributes,
        signer_cert=first_signer.der if first_signer else None,
        chain=tuple(c.der for c in first_chain),
        trusted_index=first_index,
        trusted_cert=trusted_der,
        expired=tuple(expired),
        not_yet_valid=tuple(not_yet),
        problems=tuple(problems),
        format=fmt,
    )


def signer_certificates(blob: bytes) -> list[bytes]:
    """The embedded certificates that match the SignerInfos (edk2's Pkcs7GetSigners)."""
    info = parse_signed_data(blob)
    embedded, _ = _load_certs(info.certificates)
    found: list[bytes] = []
    for si in info.signer_infos:
        for _, cert in embedded:
            if _matches_signer(si, cert):
                found.append(cert.der)
                break
    return found


# --- sign --------------------------------------------------------------------------------


def _utc_time(moment: datetime) -> bytes:
    moment = moment.astimezone(UTC)
    if 1950 <= moment.year < 2050:
        return bytes(der_encoder.encode(useful.UTCTime(moment.strftime("%y%m%d%H%M%SZ"))))
    return bytes(der_encoder.encode(useful.GeneralizedTime(moment.strftime("%Y%m%d%H%M%SZ"))))


def sign(
    content: bytes,
    key: PrivateKey | PrivateKeyTypes,
    cert: bytes,
    *,
    digest: str = "sha256",
    extra_certs: Sequence[bytes] = (),
    signed_attributes: bool = False,
    signing_time: datetime | None = None,
    strict: bool = True,
) -> bytes:
    """A detached, bare (no ContentInfo) DER SignedData over ``content``.

    The signer certificate (DER or PEM) is embedded first, then ``extra_certs``
    (intermediates). RSA keys sign with PKCS#1 v1.5, EC keys with ECDSA. With
    ``signed_attributes`` the contentType, signingTime and messageDigest attributes are
    signed (as ``openssl smime`` without ``-noattr``). ``digest`` is sha256/384/512, or sha1
    or sha224 with ``strict=False``; in strict mode the result must pass edk2's format
    checks (EncodeError otherwise).
    """
    if digest not in _DIGEST_OIDS:
        raise UsageError(f"unknown digest {digest!r}; use one of {', '.join(sorted(_DIGEST_OIDS))}")
    if strict and digest not in EDK2_DIGESTS:
        raise UsageError(f"edk2 refuses {digest}; pass strict=False to produce it anyway")
    private = key.key if isinstance(key, PrivateKey) else key
    cert_der = certificate_der(cert)
    try:
        cert_obj = _load_cert(cert_der)
    except ValueError as exc:
        raise UsageError(f"the signer certificate cannot be parsed ({exc})") from None
    if not PrivateKey(private).matches_certificate(cert_der):
        raise UsageError(f"the private key does not belong to certificate {_cert_label(cert_obj)!r}")
    extras = [certificate_der(c) for c in extra_certs]
    algorithm = _hash_algorithm(digest)
    digest_alg = _der(0x30, _der_oid(_DIGEST_OIDS[digest]), b"\x05\x00")

    attrs_field = b""
    if signed_attributes:
        moment = signing_time if signing_time is not None else datetime.now(UTC).replace(microsecond=0)
        attributes = [
            _der(0x30, _der_oid(OID_CONTENT_TYPE), _der(0x31, _der_oid(OID_DATA))),
            _der(0x30, _der_oid(OID_SIGNING_TIME), _der(0x31, _utc_time(moment))),
            _der(
                0x30,
                _der_oid(OID_MESSAGE_DIGEST),
                _der(0x31, _der(0x04, hashlib.new(digest, content).digest())),
            ),
        ]
        attr_set = _der(0x31, *sorted(attributes))
        to_sign = attr_set
        attrs_field = b"\xa0" + attr_set[1:]
    else:
        to_sign = bytes(content)

    if isinstance(private, rsa.RSAPrivateKey):
        signature = private.sign(to_sign, padding.PKCS1v15(), algorithm)
        sig_alg = _der(0x30, _der_oid(OID_RSA_ENCRYPTION), b"\x05\x00")
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        signature = private.sign(to_sign, ec.ECDSA(algorithm))
        ecdsa_oid = {
            "sha1": "1.2.840.10045.4.1",
            "sha224": "1.2.840.10045.4.3.1",
            "sha256": "1.2.840.10045.4.3.2",
            "sha384": "1.2.840.10045.4.3.3",
            "sha512": "1.2.840.10045.4.3.4",
        }[digest]
        sig_alg = _der(0x30, _der_oid(ecdsa_oid))
    else:  # pragma: no cover - excluded by the type
        raise UsageError(f"unsupported key type {type(private).__name__}")

    issuer, serial = _cert_issuer_and_serial(cert_der)
    signer_info = _der(
        0x30,
        _der_int(1),
        _der(0x30, issuer, _der_int(serial)),
        digest_alg,
        attrs_field,
        sig_alg,
        _der(0x04, signature),
    )
    signed_data = _der(
        0x30,
        _der_int(1),
        _der(0x31, digest_alg),
        _der(0x30, _der_oid(OID_DATA)),
        _der(0xA0, cert_der, *extras),
        _der(0x31, signer_info),
    )
    if strict:
        fmt = edk2_format_check(signed_data)
        if not fmt.edk2_ok:
            raise EncodeError(f"the signature would not pass edk2's format check: {fmt.edk2_problem}")
    return signed_data
