""".auth files: an EFI_VARIABLE_AUTHENTICATION_2 descriptor followed by the new value.

This is what ``sign-efi-sig-list``, ``sbvarsign`` and ``virt-fw-vars --output-auth``
write, what a SetVariable call with TIME_BASED_AUTHENTICATED_WRITE_ACCESS passes as
Data, and the layout of Microsoft's DBXUpdate/KEKUpdate ``.bin`` files::

    0   EFI_TIME  TimeStamp
    16  UINT32    AuthInfo.Hdr.dwLength         24 + size of CertData
    20  UINT16    AuthInfo.Hdr.wRevision        0x0200
    22  UINT16    AuthInfo.Hdr.wCertificateType WIN_CERT_TYPE_EFI_GUID (0x0EF1)
    24  EFI_GUID  AuthInfo.CertType             EFI_CERT_TYPE_PKCS7_GUID
    40  UINT8     AuthInfo.CertData[]           DER PKCS#7 SignedData (detached)
    16 + dwLength  the payload (the variable's new value)

The deprecated count-based EFI_VARIABLE_AUTHENTICATION (UINT64 MonotonicCount, then a
WIN_CERTIFICATE_UEFI_GUID with an RSA2048/SHA-256 block) is recognised only to say that
it is not supported. Signatures are checked in :mod:`uefivars_gui.crypto`, not here.
"""

from __future__ import annotations

import struct
from enum import Enum
from uuid import UUID

from ..core.efitime import EFI_TIME_SIZE, EfiTime
from ..core.fields import Field
from ..core.guid import EFI_CERT_TYPE_PKCS7, EFI_CERT_TYPE_RSA2048_SHA256, GUID_SIZE, guid_label
from ..core.record import value
from ..core.ucs2 import encode_ucs2
from ..errors import DecodeError, EncodeError

WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
WIN_CERT_TYPE_EFI_PKCS115 = 0x0EF0
WIN_CERT_TYPE_EFI_GUID = 0x0EF1
WIN_CERT_REVISION = 0x0200
#: sizeof(WIN_CERTIFICATE)
WIN_CERTIFICATE_SIZE = 8
#: OFFSET_OF(WIN_CERTIFICATE_UEFI_GUID, CertData)
WIN_CERTIFICATE_UEFI_GUID_SIZE = WIN_CERTIFICATE_SIZE + GUID_SIZE
#: OFFSET_OF_AUTHINFO2_CERT_DATA: the smallest valid descriptor.
OFFSET_OF_AUTHINFO2_CERT_DATA = EFI_TIME_SIZE + WIN_CERTIFICATE_UEFI_GUID_SIZE
#: AUTHINFO_SIZE of the count-based descriptor: 8 + 24 + sizeof(EFI_CERT_BLOCK_RSA_2048_SHA256).
AUTHINFO_SIZE = 8 + WIN_CERTIFICATE_UEFI_GUID_SIZE + 16 + 256 + 256

_WIN_CERTIFICATE = struct.Struct("<IHH")
_U32 = struct.Struct("<I")
#: DER start of a ContentInfo wrapping signedData, as edk2's WrapPkcs7Data checks it.
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")

_WHAT = "EFI_VARIABLE_AUTHENTICATION_2"


class AuthDescriptorKind(Enum):
    """Which authentication descriptor a buffer starts with."""

    AUTHENTICATION_2 = "EFI_VARIABLE_AUTHENTICATION_2"
    AUTHENTICATION = "EFI_VARIABLE_AUTHENTICATION (count-based, deprecated)"
    UNKNOWN = "unknown"


def _is_auth2_header(data: bytes) -> bool:
    return (
        len(data) >= OFFSET_OF_AUTHINFO2_CERT_DATA
        and data[22:24] == WIN_CERT_TYPE_EFI_GUID.to_bytes(2, "little")
        and data[24:40] == EFI_CERT_TYPE_PKCS7.bytes_le
    )


def _is_count_based_header(data: bytes) -> bool:
    return (
        len(data) >= 8 + WIN_CERTIFICATE_UEFI_GUID_SIZE
        and data[14:16] == WIN_CERT_TYPE_EFI_GUID.to_bytes(2, "little")
        and data[16:32] == EFI_CERT_TYPE_RSA2048_SHA256.bytes_le
    )


def classify(data: bytes) -> AuthDescriptorKind:
    """Tell the descriptor kind from the certificate type fields alone."""
    if _is_auth2_header(data):
        return AuthDescriptorKind.AUTHENTICATION_2
    if _is_count_based_header(data):
        return AuthDescriptorKind.AUTHENTICATION
    return AuthDescriptorKind.UNKNOWN


def probe(data: bytes) -> bool:
    """True if ``data`` is a well-formed EFI_VARIABLE_AUTHENTICATION_2 (.auth, DBXUpdate.bin)."""
    try:
        VariableAuthentication2.decode(data)
    except DecodeError:
        return False
    return True


@value
class VariableAuthentication2:
    """EFI_VARIABLE_AUTHENTICATION_2 and the payload after it."""

    timestamp: EfiTime
    cert_type: UUID
    win_cert_revision: int
    win_cert_type: int
    #: AuthInfo.CertData: the DER PKCS#7 (bare SignedData or ContentInfo-wrapped).
    cert_data: bytes
    payload: bytes

    # -- sizes ---------------------------------------------------------------------------
    @property
    def dw_length(self) -> int:
        """AuthInfo.Hdr.dwLength: the WIN_CERTIFICATE_UEFI_GUID including CertData."""
        return WIN_CERTIFICATE_UEFI_GUID_SIZE + len(self.cert_data)

    @property
    def descriptor_size(self) -> int:
        """AUTHINFO2_SIZE: where the payload starts."""
        return EFI_TIME_SIZE + self.dw_length

    @property
    def is_content_info(self) -> bool:
        """True if CertData is a ContentInfo around SignedData (edk2's WrapPkcs7Data test)."""
        data = self.cert_data
        return len(data) > 16 and data[4:15] == _SIGNED_DATA_OID and data[15] == 0xA0 and data[16] == 0x82

    @property
    def has_signature(self) -> bool:
        """False for the unsigned placeholders ``virt-fw-vars --output-auth`` writes."""
        return bool(self.cert_data)

    # -- bytes ---------------------------------------------------------------------------
    @classmethod
    def decode(cls, data: bytes) -> VariableAuthentication2:
        """Parse with edk2's sanity checks; a wrong certificate type is an error too."""
        data = bytes(data)
        if not _is_auth2_header(data) and _is_count_based_header(data):
            raise DecodeError(
                "count-based EFI_VARIABLE_AUTHENTICATION (deprecated) is not supported",
                0,
                what="EFI_VARIABLE_AUTHENTICATION",
            )
        if len(data) < OFFSET_OF_AUTHINFO2_CERT_DATA:
            raise DecodeError(
                f"{len(data)} bytes, a descriptor needs at least {OFFSET_OF_AUTHINFO2_CERT_DATA}",
                len(data),
                what=_WHAT,
            )
        timestamp = EfiTime.from_bytes(data, 0)
        dw_length, revision, cert_type_code = _WIN_CERTIFICATE.unpack_from(data, EFI_TIME_SIZE)
        if dw_length < WIN_CERTIFICATE_UEFI_GUID_SIZE:
            raise DecodeError(
                f"dwLength {dw_length} is smaller than {WIN_CERTIFICATE_UEFI_GUID_SIZE}",
                EFI_TIME_SIZE,
                what=_WHAT,
            )
        if dw_length > len(data) - EFI_TIME_SIZE:
            raise DecodeError(
                f"dwLength {dw_length} runs past the end (at most {len(data) - EFI_TIME_SIZE})",
                EFI_TIME_SIZE,
                what=_WHAT,
            )
        if cert_type_code != WIN_CERT_TYPE_EFI_GUID:
            raise DecodeError(
                f"wCertificateType 0x{cert_type_code:04x}, expected WIN_CERT_TYPE_EFI_GUID (0x0EF1)",
                22,
                what=_WHAT,
            )
        cert_type = UUID(bytes_le=data[24:40])
        if cert_type != EFI_CERT_TYPE_PKCS7:
            raise DecodeError(
                f"CertType {guid_label(cert_type)}, expected EFI_CERT_TYPE_PKCS7_GUID", 24, what=_WHAT
            )
        end = EFI_TIME_SIZE + dw_length
        return cls(
            timestamp,
            cert_type,
            revision,
            cert_type_code,
            data[OFFSET_OF_AUTHINFO2_CERT_DATA:end],
            data[end:],
        )

    def encode(self) -> bytes:
        if not 0 <= self.win_cert_revision <= 0xFFFF or not 0 <= self.win_cert_type <= 0xFFFF:
            raise EncodeError("wRevision and wCertificateType are 16-bit values")
        if self.dw_length > 0xFFFFFFFF:
            raise EncodeError("CertData too large for dwLength")
        header = _WIN_CERTIFICATE.pack(self.dw_length, self.win_cert_revision, self.win_cert_type)
        return b"".join(
            (
                self.timestamp.to_bytes(),
                header,
                self.cert_type.bytes_le,
                bytes(self.cert_data),
                bytes(self.payload),
            )
        )

    def signed_content(self, name: str, guid: UUID, attributes: int) -> bytes:
        """The bytes this descriptor's signature covers for variable ``name``/``guid``."""
        return signed_content(name, guid, attributes, self.timestamp, self.payload)

    # -- spans ---------------------------------------------------------------------------
    def fields(self) -> Field:
        ts = self.timestamp
        stamp_parts = (
            ("Year", 0, 2, ts.year),
            ("Month", 2, 1, ts.month),
            ("Day", 3, 1, ts.day),
            ("Hour", 4, 1, ts.hour),
            ("Minute", 5, 1, ts.minute),
            ("Second", 6, 1, ts.second),
            ("Pad1", 7, 1, ts.pad1),
            ("Nanosecond", 8, 4, ts.nanosecond),
            ("TimeZone", 12, 2, ts.timezone),
            ("Daylight", 14, 1, ts.daylight),
            ("Pad2", 15, 1, ts.pad2),
        )
        must_be_zero = {"Pad1", "Nanosecond", "TimeZone", "Daylight", "Pad2"}
        stamp_children = tuple(
            Field(
                name,
                offset,
                size,
                str(value),
                warning="must be 0 in an authentication descriptor"
                if name in must_be_zero and value
                else None,
            )
            for name, offset, size, value in stamp_parts
        )
        stamp_warning = (
            "edk2 rejects a non-zero Pad1/Nanosecond/TimeZone/Daylight/Pad2"
            if any(child.warning for child in stamp_children)
            else None
        )
        pkcs7 = len(self.cert_data)
        if not pkcs7:
            cert_text = "empty (unsigned placeholder)"
        else:
            cert_text = (
                f"{pkcs7} bytes, {'ContentInfo-wrapped' if self.is_content_info else 'bare'} SignedData"
            )
        revision_warning = None if self.win_cert_revision == WIN_CERT_REVISION else "expected 0x0200"
        auth_info = Field(
            "AuthInfo",
            EFI_TIME_SIZE,
            self.dw_length,
            "WIN_CERTIFICATE_UEFI_GUID",
            (
                Field(
                    "Hdr",
                    EFI_TIME_SIZE,
                    WIN_CERTIFICATE_SIZE,
                    "WIN_CERTIFICATE",
                    (
                        Field("dwLength", 16, 4, str(self.dw_length)),
                        Field(
                            "wRevision", 20, 2, f"0x{self.win_cert_revision:04x}", warning=revision_warning
                        ),
                        Field(
                            "wCertificateType", 22, 2, f"0x{self.win_cert_type:04x} (WIN_CERT_TYPE_EFI_GUID)"
                        ),
                    ),
                ),
                Field("CertType", 24, GUID_SIZE, guid_label(self.cert_type)),
                Field("CertData", OFFSET_OF_AUTHINFO2_CERT_DATA, pkcs7, cert_text),
            ),
        )
        total = self.descriptor_size + len(self.payload)
        return Field(
            _WHAT,
            0,
            total,
            f"{total} bytes",
            (
                Field("TimeStamp", 0, EFI_TIME_SIZE, str(ts), stamp_children, stamp_warning),
                auth_info,
                Field("Payload", self.descriptor_size, len(self.payload), f"{len(self.payload)} bytes"),
            ),
        )


def signed_content(name: str, guid: UUID, attributes: int, timestamp: EfiTime, payload: bytes) -> bytes:
    """What a time-based authenticated write signs (edk2 VerifyTimeBasedPayload, UEFI 8.2.2):
    the name in UCS-2 without its NUL, the vendor GUID, the 32-bit attributes exactly as
    passed to SetVariable (APPEND_WRITE included), the descriptor's TimeStamp, the payload."""
    value = int(attributes)
    if not 0 <= value <= 0xFFFFFFFF:
        raise EncodeError(f"attributes 0x{value:x} do not fit 32 bits")
    return b"".join(
        (encode_ucs2(name, nul=False), guid.bytes_le, _U32.pack(value), timestamp.to_bytes(), bytes(payload))
    )


def build(timestamp: EfiTime, pkcs7: bytes, payload: bytes) -> bytes:
    """An .auth file: the descriptor with ``pkcs7`` as CertData, then ``payload``."""
    return VariableAuthentication2(
        timestamp,
        EFI_CERT_TYPE_PKCS7,
        WIN_CERT_REVISION,
        WIN_CERT_TYPE_EFI_GUID,
        bytes(pkcs7),
        bytes(payload),
    ).encode()


def decode(data: bytes) -> VariableAuthentication2:
    return VariableAuthentication2.decode(data)
