"""Time-based authenticated writes (qemu-uefi-vars.md §4; AuthVariableLib behaviour).

* ``check_auth_2`` parses EFI_VARIABLE_AUTHENTICATION_2 and decides whether a write of
  an AT variable is authentic: secure-boot databases (PK, KEK, db, dbx and — as in edk2 —
  dbt) are checked against their signer database; every other AT variable is a
  "private authenticated variable" whose signer is remembered as a 32-byte ``digest``.
* PKCS#7 verification is delegated to an injected :class:`Pkcs7Verifier`. Without one,
  every write that needs a signature is refused with EFI_SECURITY_VIOLATION, and the log
  says why.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ..core.efitime import EfiTime
from ..core.guid import (
    CERT_DB,
    CUSTOM_MODE_ENABLE,
    EFI_CERT_TYPE_PKCS7,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    VENDOR_KEYS_NV,
)
from ..core.variable import Variable
from .sigmerge import x509_certificates
from .status import EfiStatus
from .x509cn import subject_common_name

WIN_CERT_TYPE_EFI_GUID = 0x0EF1
WIN_CERT_REVISION = 0x0200
#: sizeof(WIN_CERTIFICATE_UEFI_GUID) without CertData.
WIN_CERTIFICATE_UEFI_GUID_SIZE = 24
#: sizeof(EFI_VARIABLE_AUTHENTICATION_2) without CertData.
AUTHENTICATION_2_SIZE = 40
AUTHVAR_DIGEST_SIZE = 32

SETUP_MODE = 1
USER_MODE = 0
CUSTOM_SECURE_BOOT_MODE = 1
STANDARD_SECURE_BOOT_MODE = 0

_AUTH2_HEAD = struct.Struct("<16sIHH16s")
_PKCS7_GUID = EFI_CERT_TYPE_PKCS7.bytes_le

#: The secure-boot databases: (GUID, name) -> the databases whose certificates sign it.
#: QEMU: PK <- PK, KEK <- PK, db/dbx <- KEK. We also accept PK for db/dbx/dbt (as edk2,
#: intended difference 15) and treat dbt like db/dbx (edk2; QEMU treats dbt as a private
#: authenticated variable).
SECURE_BOOT_SIGNERS: dict[tuple[UUID, str], tuple[tuple[UUID, str], ...]] = {
    (EFI_GLOBAL_VARIABLE, "PK"): ((EFI_GLOBAL_VARIABLE, "PK"),),
    (EFI_GLOBAL_VARIABLE, "KEK"): ((EFI_GLOBAL_VARIABLE, "PK"),),
    (EFI_IMAGE_SECURITY_DATABASE, "db"): ((EFI_GLOBAL_VARIABLE, "KEK"), (EFI_GLOBAL_VARIABLE, "PK")),
    (EFI_IMAGE_SECURITY_DATABASE, "dbx"): ((EFI_GLOBAL_VARIABLE, "KEK"), (EFI_GLOBAL_VARIABLE, "PK")),
    (EFI_IMAGE_SECURITY_DATABASE, "dbt"): ((EFI_GLOBAL_VARIABLE, "KEK"), (EFI_GLOBAL_VARIABLE, "PK")),
}

PK_KEY = (EFI_GLOBAL_VARIABLE, "PK")

#: Variables with edk2's VarCheck READ_ONLY property: a guest SetVariable (write or
#: delete) after EndOfDxe answers EFI_WRITE_PROTECTED (intended difference 16; QEMU has
#: no such property). From VarCheckUefiLib (SetupMode, SecureBoot, SignatureSupport,
#: VendorKeys, the *Default databases) and AuthVariableLib's mAuthVarEntry (VendorKeysNv,
#: certdb, certdbv); VendorKeysNv also in EfiGlobalVariable, where QEMU creates it.
READ_ONLY_VARIABLES: frozenset[tuple[UUID, str]] = frozenset(
    {
        *(
            (EFI_GLOBAL_VARIABLE, name)
            for name in (
                "SetupMode",
                "SecureBoot",
                "SignatureSupport",
                "VendorKeys",
                "PKDefault",
                "KEKDefault",
                "dbDefault",
                "dbxDefault",
                "dbtDefault",
                "VendorKeysNv",
            )
        ),
        (VENDOR_KEYS_NV, "VendorKeysNv"),
        (CERT_DB, "certdb"),
        (CERT_DB, "certdbv"),
    }
)

#: Attributes every secure-boot database must have (NV|BS|RT|AT).
SECURE_BOOT_ATTRIBUTES = 0x27


class Pkcs7Verifier(Protocol):
    """What the device needs from a PKCS#7 implementation.

    ``signed_data`` is the CertData of the WIN_CERTIFICATE_UEFI_GUID exactly as the guest
    sent it: a bare SignedData or one wrapped in a ContentInfo (the implementation accepts
    both). ``content`` is the detached content (name without NUL, GUID, attributes,
    timestamp, payload).
    """

    def verify(self, signed_data: bytes, content: bytes, trusted_certs: Sequence[bytes]) -> bool:
        """True if a SignerInfo verifies over ``content`` and chains to one of
        ``trusted_certs`` (DER; partial chains allowed, validity dates ignored)."""
        ...

    def signer_certificates(self, signed_data: bytes) -> list[bytes]:
        """The DER certificates of the SignedData ``certificates`` set, in their order
        (index 0 is taken as the signer, the last one as the root of trust, as QEMU does)."""
        ...


def is_secure_boot_variable(guid: UUID, name: str) -> bool:
    return (guid, name) in SECURE_BOOT_SIGNERS


def is_read_only_variable(guid: UUID, name: str) -> bool:
    return (guid, name) in READ_ONLY_VARIABLES


def is_pk(guid: UUID, name: str) -> bool:
    return guid == EFI_GLOBAL_VARIABLE and name == "PK"


def qemu_time_compare(a: EfiTime, b: EfiTime) -> int:
    """QEMU's ``uefi_time_compare``: Year..Second then Nanosecond (zone fields ignored)."""
    ka = (a.year, a.month, a.day, a.hour, a.minute, a.second, a.nanosecond)
    kb = (b.year, b.month, b.day, b.hour, b.minute, b.second, b.nanosecond)
    return (ka > kb) - (ka < kb)


@dataclass(frozen=True, slots=True)
class Auth2Descriptor:
    """A parsed EFI_VARIABLE_AUTHENTICATION_2 and the payload that follows it."""

    timestamp: EfiTime
    timestamp_raw: bytes
    hdr_length: int
    revision: int
    cert_type: int
    cert_type_guid: bytes
    cert_data: bytes
    payload: bytes

    @property
    def has_signature(self) -> bool:
        return self.hdr_length != WIN_CERTIFICATE_UEFI_GUID_SIZE


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Outcome of ``check_auth_2``.

    On success ``timestamp`` is the new stored time, ``payload`` the new data (empty
    means: delete), ``digest`` the signer digest of a private authenticated variable.
    """

    status: EfiStatus
    reason: str = ""
    timestamp: EfiTime | None = None
    payload: bytes = b""
    digest: bytes | None = None


def parse_auth2(data: bytes) -> tuple[Auth2Descriptor | None, EfiStatus, str]:
    """QEMU's structural checks, in order (§4.1 steps 1-4)."""
    if len(data) < AUTHENTICATION_2_SIZE:
        return None, EfiStatus.SECURITY_VIOLATION, "DataSize below 40 (no EFI_VARIABLE_AUTHENTICATION_2)"
    ts_raw, hdr_length, revision, cert_type, cert_guid = _AUTH2_HEAD.unpack_from(data, 0)
    if hdr_length < WIN_CERTIFICATE_UEFI_GUID_SIZE:
        return None, EfiStatus.SECURITY_VIOLATION, f"dwLength {hdr_length} below 24"
    data_offset = 16 + hdr_length
    if len(data) < data_offset:
        return None, EfiStatus.SECURITY_VIOLATION, f"dwLength {hdr_length} exceeds DataSize"
    if revision != WIN_CERT_REVISION or cert_type != WIN_CERT_TYPE_EFI_GUID or cert_guid != _PKCS7_GUID:
        return (
            None,
            EfiStatus.UNSUPPORTED,
            "not a WIN_CERTIFICATE_UEFI_GUID (rev 0x0200) with a PKCS#7 CertType",
        )
    desc = Auth2Descriptor(
        timestamp=EfiTime.from_bytes(ts_raw),
        timestamp_raw=bytes(ts_raw),
        hdr_length=hdr_length,
        revision=revision,
        cert_type=cert_type,
        cert_type_guid=bytes(cert_guid),
        cert_data=bytes(data[AUTHENTICATION_2_SIZE:data_offset]),
        payload=bytes(data[data_offset:]),
    )
    return desc, EfiStatus.SUCCESS, ""


def signed_content(raw_name: bytes, guid: UUID, attributes: int, desc: Auth2Descriptor) -> bytes:
    """The detached content of the signature, as QEMU builds it (``build_signed_data``).

    The name is the raw NameSize bytes without the last two (the NUL), the attributes are
    the 32-bit value as sent (APPEND_WRITE included).
    """
    return (
        bytes(raw_name[: max(0, len(raw_name) - 2)])
        + guid.bytes_le
        + struct.pack("<I", attributes & 0xFFFFFFFF)
        + desc.timestamp_raw
        + desc.payload
    )


def authvar_digest(signer_cert: bytes, root_cert: bytes) -> bytes | None:
    """SHA-256(CN(signer) || SHA-256(root DER)); None if the signer has no CN."""
    cn = subject_common_name(signer_cert)
    if cn is None:
        return None
    return hashlib.sha256(cn + hashlib.sha256(root_cert).digest()).digest()


Finder = Callable[[UUID, str], Variable | None]


class Authenticator:
    """The auth checks of a SetVariable with TIME_BASED_AUTHENTICATED_WRITE_ACCESS."""

    def __init__(
        self,
        find: Finder,
        verifier: Pkcs7Verifier | None,
        *,
        allow_unsigned_pk_in_setup_mode: bool = False,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self._find = find
        self.verifier = verifier
        self.allow_unsigned_pk_in_setup_mode = allow_unsigned_pk_in_setup_mode
        self._notice = notice

    # -- modes ------------------------------------------------------------------------
    def setup_mode_active(self) -> bool:
        var = self._find(EFI_GLOBAL_VARIABLE, "SetupMode")
        return var is not None and len(var.data) > 0 and var.data[0] == SETUP_MODE

    def custom_mode_active(self) -> bool:
        var = self._find(CUSTOM_MODE_ENABLE, "CustomMode")
        return var is not None and len(var.data) > 0 and var.data[0] == CUSTOM_SECURE_BOOT_MODE

    # -- the check --------------------------------------------------------------------
    def check_auth_2(
        self, guid: UUID, name: str, raw_name: bytes, attributes: int, data: bytes
    ) -> AuthResult:
        desc, status, reason = parse_auth2(data)
        if desc is None:
            return AuthResult(status, reason)
        if is_secure_boot_variable(guid, name):
            result = self._check_secure_boot(guid, name, raw_name, attributes, desc)
            digest = None
        else:
            result, digest = self._check_authvar(guid, raw_name, attributes, desc)
        if result.status != EfiStatus.SUCCESS:
            return AuthResult(result.status, result.reason, digest=digest)
        return AuthResult(EfiStatus.SUCCESS, result.reason, desc.timestamp, desc.payload, digest)

    def _check_secure_boot(
        self, guid: UUID, name: str, raw_name: bytes, attributes: int, desc: Auth2Descriptor
    ) -> AuthResult:
        if self.custom_mode_active():
            return AuthResult(EfiStatus.SUCCESS, "custom mode: no authentication")
        setup = self.setup_mode_active()
        target_is_pk = is_pk(guid, name)
        if setup and not target_is_pk:
            return AuthResult(EfiStatus.SUCCESS, "setup mode: no authentication")
        if not desc.has_signature:
            if setup and target_is_pk and self.allow_unsigned_pk_in_setup_mode:
                return AuthResult(EfiStatus.SUCCESS, "setup mode: unsigned PK accepted (edk2 behaviour)")
            return AuthResult(EfiStatus.SECURITY_VIOLATION, "no signature (CertData is empty)")
        signers = [self._find(g, n) for g, n in SECURE_BOOT_SIGNERS[(guid, name)]]
        present = [var for var in signers if var is not None]
        if target_is_pk and setup and not present:
            trusted = x509_certificates(desc.payload, self._warn)
            anchor = "the new PK itself (self-signed)"
        elif not present:
            return AuthResult(
                EfiStatus.SECURITY_VIOLATION,
                "no signer database (" + "/".join(n for _, n in SECURE_BOOT_SIGNERS[(guid, name)]) + ")",
            )
        else:
            trusted = []
            for var in present:
                trusted.extend(x509_certificates(var.data, self._warn))
            anchor = "/".join(var.name for var in present)
        if not trusted:
            return AuthResult(EfiStatus.SECURITY_VIOLATION, f"no X.509 certificate in {anchor}")
        content = signed_content(raw_name, guid, attributes, desc)
        ok, why = self._verify(desc.cert_data, content, trusted)
        if not ok:
            return AuthResult(EfiStatus.SECURITY_VIOLATION, f"signature not trusted by {anchor}: {why}")
        return AuthResult(EfiStatus.SUCCESS, f"signed by {anchor}")

    def _check_authvar(
        self, guid: UUID, raw_name: bytes, attributes: int, desc: Auth2Descriptor
    ) -> tuple[AuthResult, bytes | None]:
        if self.verifier is None:
            return AuthResult(EfiStatus.SECURITY_VIOLATION, "no PKCS#7 verifier configured"), None
        try:
            certs = list(self.verifier.signer_certificates(desc.cert_data))
        except Exception as exc:
            return AuthResult(
                EfiStatus.SECURITY_VIOLATION, f"cannot read the PKCS#7 certificates: {exc}"
            ), None
        if not certs:
            return AuthResult(EfiStatus.SECURITY_VIOLATION, "PKCS#7 carries no certificate"), None
        signer, root = bytes(certs[0]), bytes(certs[-1])
        digest = authvar_digest(signer, root)
        if digest is None:
            return AuthResult(EfiStatus.SECURITY_VIOLATION, "signer certificate has no readable CN"), None
        content = signed_content(raw_name, guid, attributes, desc)
        ok, why = self._verify(desc.cert_data, content, [root])
        if not ok:
            return AuthResult(EfiStatus.SECURITY_VIOLATION, f"signature does not verify: {why}"), digest
        return AuthResult(EfiStatus.SUCCESS, "signed (private authenticated variable)"), digest

    def _verify(self, signed_data: bytes, content: bytes, trusted: Sequence[bytes]) -> tuple[bool, str]:
        if self.verifier is None:
            return False, "no PKCS#7 verifier configured"
        try:
            ok = bool(self.verifier.verify(signed_data, content, list(trusted)))
        except Exception as exc:
            return False, f"verifier error: {exc}"
        return ok, "" if ok else "verification failed"

    def _warn(self, text: str) -> None:
        if self._notice is not None:
            self._notice(text)
