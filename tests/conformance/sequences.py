"""Request builders for the conformance suite, and the comparison of two devices.

The suite sends the same MM requests to our engine (:mod:`uefivars_gui.device`) and to
QEMU 10.0.2's real ``uefi-vars`` device and compares, per request, the device status and
every byte read back, and at the end the JSON store QEMU wrote with
``qemu_json.encode`` of the engine's non-volatile variables.

* Builders (``get_variable``, ``set_variable``, ``register_policy`` …) make
  :class:`Request` values with exactly edk2's byte layouts, and can lie (MessageLength,
  NameSize, DataSize) for the error paths.
* :func:`allowed_difference` is the single place that accepts a mismatch: it recognises
  only the intended differences documented in ``intended-differences.md`` (numbers 1-15)
  and in the engine's ``INTENDED_DIFFERENCES`` table (16 and the "A" numbers, not yet in
  intended-differences.md), each by its number (:data:`DIFFERENCES`).
* :class:`Pair` runs requests on both sides and raises :class:`ConformanceMismatch` for
  anything :func:`allowed_difference` does not explain.
"""

from __future__ import annotations

import json
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol
from uuid import UUID

from uefivars_gui.codec import qemu_json
from uefivars_gui.core.efitime import ZERO_TIME, EfiTime
from uefivars_gui.core.guid import (
    CERT_DB,
    EFI_CERT_SHA256,
    EFI_CERT_TYPE_PKCS7,
    EFI_CERT_X509,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    EVENT_READY_TO_BOOT,
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
    VENDOR_KEYS_NV,
    ZERO_GUID,
)
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.crypto import keys, pkcs7
from uefivars_gui.device import UefiVarsDevice
from uefivars_gui.device.log import LogRecord, PolicyDenied, PolicyMatched
from uefivars_gui.device.policy import Policy
from uefivars_gui.device.sigmerge import x509_certificates
from uefivars_gui.live.guest import GuestSession, Target
from uefivars_gui.live.qtest import QemuQtest

# --- numbers -------------------------------------------------------------------------------

MM_HEADER = 24
VAR_HEADER = 16
PAYLOAD = MM_HEADER + VAR_HEADER  # 40: first byte of a variable-protocol payload
VAR_STATUS = slice(32, 40)  # ReturnStatus in the buffer
POLICY_RESULT = slice(36, 44)  # VAR_CHECK_POLICY_COMM_HEADER.Result in the buffer
BUFFER_SIZE = 64 * 1024

EFI_SUCCESS = 0
EFI_INVALID_PARAMETER = 0x8000000000000002
EFI_UNSUPPORTED = 0x8000000000000003
EFI_BAD_BUFFER_SIZE = 0x8000000000000004
EFI_BUFFER_TOO_SMALL = 0x8000000000000005
EFI_WRITE_PROTECTED = 0x8000000000000008
EFI_OUT_OF_RESOURCES = 0x8000000000000009
EFI_NOT_FOUND = 0x800000000000000E
EFI_ACCESS_DENIED = 0x800000000000000F
EFI_ALREADY_STARTED = 0x8000000000000014
EFI_SECURITY_VIOLATION = 0x800000000000001A

STS_SUCCESS = 0x00
STS_ERR_NOT_SUPPORTED = 0x11
STS_ERR_BAD_BUFFER_SIZE = 0x12

NV, BS, RT, HR, AW, AT, APPEND = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40
NV_BS_RT = NV | BS | RT
SB_ATTRS = NV | BS | RT | AT  # 0x27, what PK/KEK/db/dbx must have

# variable functions
GET_VARIABLE, GET_NEXT, SET_VARIABLE, QUERY_INFO = 1, 2, 3, 4
READY_TO_BOOT, EXIT_BOOT_SERVICE, LOCK_VARIABLE, GET_PAYLOAD_SIZE = 5, 6, 8, 11
# policy commands
POLICY_DISABLE, POLICY_IS_ENABLED, POLICY_REGISTER, POLICY_DUMP, POLICY_LOCK = 1, 2, 3, 4, 5
NO_LOCK, LOCK_NOW, LOCK_ON_CREATE, LOCK_ON_VAR_STATE = 0, 1, 2, 3
#: edk2's DUMP message: header 20 + params 13 + VAR_CHECK_POLICY_MM_DUMP_BUFFER_SIZE.
DUMP_MESSAGE = 20 + 13 + 16327

VENDOR = UUID("11111111-2222-3333-4444-555555555555")
VENDOR2 = UUID("5f0b3b9e-2c6f-4e38-9d0e-6a1c2b7d4e51")
OWNER = UUID("a0baa8a3-041d-48a8-bc87-c36d121b5e3d")
#: A header GUID no handler knows.
UNKNOWN_HEADER = UUID("0badc0de-0000-4000-8000-000000000001")

SECURE_BOOT_DATABASES = {
    (EFI_GLOBAL_VARIABLE, "PK"),
    (EFI_GLOBAL_VARIABLE, "KEK"),
    (EFI_IMAGE_SECURITY_DATABASE, "db"),
    (EFI_IMAGE_SECURITY_DATABASE, "dbx"),
}


def ucs2(name: str) -> bytes:
    """UCS-2 name with its NUL, as edk2 sends it."""
    return (name + "\0").encode("utf-16-le", "surrogatepass")


# --- requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One EFI_MM_COMMUNICATE request: header GUID, message, and MessageLength.

    ``length`` is the MessageLength written into the header (default ``len(message)``);
    a larger value makes the device read zeros beyond the message (the guest buffer is
    padded so both devices see the same bytes), a smaller one leaves bytes it ignores.
    """

    header: UUID
    message: bytes
    length: int | None = None
    label: str = ""

    @property
    def message_length(self) -> int:
        return len(self.message) if self.length is None else self.length

    def effective_message(self, buffer_size: int = BUFFER_SIZE) -> bytes:
        """What the guest places after the header (zero-padded up to a larger lie)."""
        total = MM_HEADER + self.message_length
        if self.message_length > len(self.message) and total <= buffer_size:
            return self.message + bytes(self.message_length - len(self.message))
        return self.message

    def buffer(self, buffer_size: int = BUFFER_SIZE) -> bytes:
        return (
            self.header.bytes_le
            + struct.pack("<Q", self.message_length)
            + self.effective_message(buffer_size)
        )

    def __repr__(self) -> str:
        what = self.label or f"mm({self.header}, {len(self.message)} bytes)"
        lie = f", MessageLength={self.length}" if self.length is not None else ""
        return f"<{what}{lie}: {self.message[:96].hex()}{'…' if len(self.message) > 96 else ''}>"

    # -- decoding (for allowed_difference) ------------------------------------------------

    @property
    def is_variable(self) -> bool:
        return self.header == SMM_VARIABLE_PROTOCOL and self.message_length >= VAR_HEADER

    @property
    def function(self) -> int | None:
        if not self.is_variable:
            return None
        return int.from_bytes(self.buffer()[24:32], "little")

    @property
    def sent_status(self) -> int:
        buf = self.buffer()
        return int.from_bytes(buf[32:40], "little") if len(buf) >= 40 else 0

    @property
    def is_policy(self) -> bool:
        return self.header == VAR_CHECK_POLICY_MMI_HANDLER and self.message_length >= 20

    @property
    def policy_command(self) -> int | None:
        if not self.is_policy:
            return None
        return int.from_bytes(self.buffer()[32:36], "little")

    def access(self) -> tuple[UUID, int, int, int, bytes, bytes] | None:
        """(guid, DataSize, NameSize, Attributes, raw name, data) of GET/SET requests."""
        buf = self.buffer()
        end = MM_HEADER + self.message_length
        if self.function not in (GET_VARIABLE, SET_VARIABLE) or end < PAYLOAD + 36 or len(buf) < PAYLOAD + 36:
            return None
        guid, data_size, name_size, attrs = struct.unpack_from("<16sQQI", buf, PAYLOAD)
        name_off = PAYLOAD + 36
        raw = bytes(buf[name_off : min(name_off + name_size, end)])
        data = bytes(buf[name_off + name_size : min(name_off + name_size + data_size, end)])
        return UUID(bytes_le=guid), data_size, name_size, attrs, raw, data

    def next_name(self) -> tuple[UUID, int, bytes] | None:
        """(guid, NameSize, raw name) of GET_NEXT_VARIABLE_NAME requests."""
        buf = self.buffer()
        end = MM_HEADER + self.message_length
        if self.function != GET_NEXT or end < PAYLOAD + 24 or len(buf) < PAYLOAD + 24:
            return None
        guid, name_size = struct.unpack_from("<16sQ", buf, PAYLOAD)
        raw = bytes(buf[PAYLOAD + 24 : min(PAYLOAD + 24 + name_size, end)])
        return UUID(bytes_le=guid), name_size, raw


def mm(header: UUID, message: bytes, *, length: int | None = None, label: str = "") -> Request:
    return Request(header, bytes(message), length, label)


def var_call(
    function: int, payload: bytes = b"", *, status: int = 0, length: int | None = None, label: str = ""
) -> Request:
    """Function + ReturnStatus + payload (SMM_VARIABLE_COMMUNICATE_HEADER)."""
    message = struct.pack("<QQ", function, status) + payload
    return mm(SMM_VARIABLE_PROTOCOL, message, length=length, label=label or f"var_call({function})")


def get_variable(
    name: str,
    guid: UUID,
    data_size: int = 64,
    *,
    raw_name: bytes | None = None,
    name_size: int | None = None,
    room: int | None = None,
    attributes: int = 0,
    length: int | None = None,
) -> Request:
    """GET_VARIABLE offering ``data_size`` bytes (``room``: data bytes actually sent)."""
    raw = ucs2(name) if raw_name is None else raw_name
    size = len(raw) if name_size is None else name_size
    area = data_size if room is None else room
    payload = guid.bytes_le + struct.pack("<QQI", data_size, size, attributes) + raw + bytes(area)
    return var_call(GET_VARIABLE, payload, length=length, label=f"get({name!r}, {data_size})")


def get_next(
    name: str = "",
    guid: UUID = ZERO_GUID,
    name_size: int = 128,
    *,
    raw_name: bytes | None = None,
    room: int | None = None,
    length: int | None = None,
) -> Request:
    """GET_NEXT_VARIABLE_NAME: NameSize is the caller's buffer, as edk2 sends it
    (``room``: name-area bytes actually sent, default NameSize)."""
    raw = ucs2(name) if raw_name is None else raw_name
    area = max(name_size if room is None else room, len(raw))
    payload = guid.bytes_le + struct.pack("<Q", name_size) + raw + bytes(area - len(raw))
    return var_call(GET_NEXT, payload, length=length, label=f"get_next({name!r}, {name_size})")


def set_variable(
    name: str,
    guid: UUID,
    attributes: int,
    data: bytes,
    *,
    raw_name: bytes | None = None,
    name_size: int | None = None,
    data_size: int | None = None,
    length: int | None = None,
    label: str = "",
) -> Request:
    raw = ucs2(name) if raw_name is None else raw_name
    nsize = len(raw) if name_size is None else name_size
    dsize = len(data) if data_size is None else data_size
    payload = guid.bytes_le + struct.pack("<QQI", dsize, nsize, attributes) + raw + bytes(data)
    text = label or f"set({name!r}, 0x{attributes:x}, {len(data)} bytes)"
    return var_call(SET_VARIABLE, payload, length=length, label=text)


def delete_variable(name: str, guid: UUID, attributes: int = 0) -> Request:
    return set_variable(name, guid, attributes, b"", label=f"delete({name!r})")


def query_info(attributes: int = NV_BS_RT, *, size: int = 32, length: int | None = None) -> Request:
    """QUERY_VARIABLE_INFO; edk2 sends its padded 32-byte struct, QEMU's is 28."""
    payload = (struct.pack("<QQQI", 0, 0, 0, attributes) + bytes(8))[:size]
    return var_call(QUERY_INFO, payload, length=length, label=f"query_info(0x{attributes:x}, {size})")


def payload_size(*, length: int | None = None) -> Request:
    return var_call(GET_PAYLOAD_SIZE, bytes(8), length=length, label="get_payload_size")


def lock_variable(
    name: str,
    guid: UUID,
    *,
    raw_name: bytes | None = None,
    name_size: int | None = None,
    length: int | None = None,
) -> Request:
    raw = ucs2(name) if raw_name is None else raw_name
    size = len(raw) if name_size is None else name_size
    payload = guid.bytes_le + struct.pack("<Q", size) + raw
    return var_call(LOCK_VARIABLE, payload, length=length, label=f"lock_variable({name!r})")


def ready_to_boot(status: int = 0) -> Request:
    return var_call(READY_TO_BOOT, status=status, label="ready_to_boot()")


def exit_boot_service(status: int = 0) -> Request:
    return var_call(EXIT_BOOT_SERVICE, status=status, label="exit_boot_service()")


def event(guid: UUID) -> Request:
    """A boot event as VirtMmCommunicationDxe forwards it (MessageLength 1, Data[0] = 0)."""
    names = {
        END_OF_DXE_EVENT_GROUP: "EndOfDxe",
        EVENT_READY_TO_BOOT: "ReadyToBoot",
        EVENT_EXIT_BOOT_SERVICES: "ExitBootServices",
    }
    return mm(guid, b"\0", label=f"event({names.get(guid, guid)})")


def end_of_dxe() -> Request:
    return event(END_OF_DXE_EVENT_GROUP)


def exit_boot_services() -> Request:
    return event(EVENT_EXIT_BOOT_SERVICES)


# --- policies ------------------------------------------------------------------------------


def policy_call(
    command: int,
    params: bytes = b"",
    *,
    total: int | None = None,
    result: int = 0,
    length: int | None = None,
    label: str = "",
) -> Request:
    """VAR_CHECK_POLICY_COMM_HEADER ("VCPC", revision 1) + params, zero-padded to ``total``."""
    message = b"VCPC" + struct.pack("<IIQ", 1, command, result) + params
    if total is not None and total > len(message):
        message += bytes(total - len(message))
    return mm(VAR_CHECK_POLICY_MMI_HANDLER, message, length=length, label=label or f"policy({command})")


@dataclass(frozen=True)
class VarState:
    """VARIABLE_LOCK_ON_VAR_STATE_POLICY: lock while (namespace, name) holds ``value``."""

    namespace: UUID
    name: str
    value: int = 1


def policy_entry(
    namespace: UUID,
    name: str | None,
    *,
    min_size: int = 0,
    max_size: int = 0xFFFFFFFF,
    must: int = 0,
    cant: int = 0,
    lock_type: int = NO_LOCK,
    state: VarState | None = None,
    layout: Literal["edk2", "qemu"] = "edk2",
    version: int = 0x00010000,
    size: int | None = None,
    offset_to_name: int | None = None,
    raw_name: bytes | None = None,
) -> bytes:
    """A VARIABLE_POLICY_ENTRY as edk2's RegisterVariablePolicy builds it.

    ``name=None`` makes a namespace-only entry. ``state`` adds the lock-on-variable-state
    sub-entry in edk2's packed 18-byte layout, or with ``layout="qemu"`` in the 20-byte
    layout QEMU 10.0.2 reads (intended difference 10).
    """
    lock_policy = b""
    if state is not None:
        pad = b"\0" if layout == "edk2" else b"\0\0\0"
        lock_policy = state.namespace.bytes_le + bytes([state.value]) + pad + ucs2(state.name)
    name_bytes = raw_name if raw_name is not None else (b"" if name is None else ucs2(name))
    offset = 44 + len(lock_policy) if offset_to_name is None else offset_to_name
    body = lock_policy + name_bytes
    total = 44 + len(body) if size is None else size
    head = struct.pack(
        "<IHH16sIIIIB3x",
        version,
        total & 0xFFFF,
        offset & 0xFFFF,
        namespace.bytes_le,
        min_size,
        max_size,
        must,
        cant,
        lock_type,
    )
    return head + body


def register_policy(entry: bytes, *, length: int | None = None, total: int | None = None) -> Request:
    return policy_call(POLICY_REGISTER, entry, length=length, total=total, label="policy_register")


def dump_policies(page: int = 0, *, total: int = DUMP_MESSAGE) -> Request:
    return policy_call(
        POLICY_DUMP, struct.pack("<IIIB", page, 0, 0, 0), total=total, label=f"policy_dump({page})"
    )


def policy_is_enabled(*, total: int = 21) -> Request:
    return policy_call(POLICY_IS_ENABLED, total=total, label="policy_is_enabled")


def policy_lock() -> Request:
    return policy_call(POLICY_LOCK, label="policy_lock")


def policy_disable() -> Request:
    return policy_call(POLICY_DISABLE, label="policy_disable")


# --- authenticated variables ---------------------------------------------------------------


def efi_time(year: int, month: int = 1, day: int = 1, hour: int = 0, second: int = 0) -> EfiTime:
    return EfiTime(year, month, day, hour, 0, second)


def auth2(
    stamp: EfiTime,
    cert_data: bytes,
    payload: bytes,
    *,
    dw_length: int | None = None,
    revision: int = 0x0200,
    cert_type: int = 0x0EF1,
    cert_guid: UUID = EFI_CERT_TYPE_PKCS7,
) -> bytes:
    """EFI_VARIABLE_AUTHENTICATION_2 (+ CertData) followed by the payload."""
    length = 24 + len(cert_data) if dw_length is None else dw_length
    head = (
        stamp.to_bytes() + struct.pack("<IHH", length & 0xFFFFFFFF, revision, cert_type) + cert_guid.bytes_le
    )
    return head + cert_data + payload


def signed_content(name: str, guid: UUID, attributes: int, stamp: EfiTime, payload: bytes) -> bytes:
    """What an EFI_VARIABLE_AUTHENTICATION_2 signs (name without NUL ‖ GUID ‖ attrs ‖ time ‖ data)."""
    return (
        name.encode("utf-16-le") + guid.bytes_le + struct.pack("<I", attributes) + stamp.to_bytes() + payload
    )


def esl_x509(der: bytes, owner: UUID = OWNER) -> bytes:
    size = 16 + len(der)
    return EFI_CERT_X509.bytes_le + struct.pack("<III", 28 + size, 0, size) + owner.bytes_le + der


def esl_sha256(hashes: Sequence[bytes], owner: UUID = OWNER) -> bytes:
    body = b"".join(owner.bytes_le + h for h in hashes)
    return EFI_CERT_SHA256.bytes_le + struct.pack("<III", 28 + len(body), 0, 48) + body


@dataclass(frozen=True)
class Signer:
    """A key and its self-signed certificate, made with uefivars_gui.crypto.keys."""

    key: keys.PrivateKey
    cert: bytes

    @classmethod
    def generate(cls, common_name: str) -> Signer:
        key = keys.generate_key(2048)
        return cls(key, keys.self_signed_certificate(key, common_name))

    def sign(self, content: bytes, *, digest: str = "sha256", signed_attributes: bool = False) -> bytes:
        return pkcs7.sign(content, self.key, self.cert, digest=digest, signed_attributes=signed_attributes)


def signed_write(
    name: str,
    guid: UUID,
    attributes: int,
    stamp: EfiTime,
    payload: bytes,
    signer: Signer,
    *,
    digest: str = "sha256",
    signed_attributes: bool = False,
    wrap: bool = False,
    flip: int | None = None,
    sign_attributes: int | None = None,
) -> bytes:
    """SetVariable data: AUTHENTICATION_2 with a real PKCS#7 signature, then the payload.

    ``wrap`` puts the SignedData in a ContentInfo; ``flip`` inverts one byte of the
    signature blob (counted from its end); ``sign_attributes`` signs other attributes
    than the ones sent.
    """
    signed_attrs = attributes if sign_attributes is None else sign_attributes
    content = signed_content(name, guid, signed_attrs, stamp, payload)
    blob = signer.sign(content, digest=digest, signed_attributes=signed_attributes)
    if wrap:
        blob = pkcs7.wrap_content_info(blob)
    if flip is not None:
        mutable = bytearray(blob)
        mutable[len(blob) - 1 - flip] ^= 0xFF
        blob = bytes(mutable)
    return auth2(stamp, blob, payload)


# --- outcomes and the intended differences -------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one device did with one request: its status register and the bytes read back."""

    device_status: int
    reply: bytes

    def u64(self, offset: int) -> int | None:
        return (
            int.from_bytes(self.reply[offset : offset + 8], "little")
            if len(self.reply) >= offset + 8
            else None
        )

    @property
    def status(self) -> int | None:
        """ReturnStatus of a variable-protocol reply."""
        return self.u64(32)

    @property
    def policy_result(self) -> int | None:
        return self.u64(36)


@dataclass(frozen=True)
class Context:
    """The engine's view before the request (equal to QEMU's while nothing diverged),
    plus the engine's log records for the request."""

    mode: Literal["dma", "pio"] = "dma"
    buffer_size: int = BUFFER_SIZE
    store: VarStore = field(default_factory=VarStore)
    exit_boot_service: bool = False
    end_of_dxe: bool = False
    setup_mode: bool = True
    custom_mode: bool = False
    log: tuple[LogRecord, ...] = ()

    def variable(self, guid: UUID, name: str) -> Variable | None:
        var = self.store.get(guid, name)
        return var if var is not None and var.data else None


#: Differences after which the two stores (or policy tables) are no longer the same.
MUTATING = frozenset({"2", "3", "5", "8", "9", "10", "15", "16", "A1", "A2"})


def changes_state(difference: str, request: Request, ours: Outcome, theirs: Outcome) -> bool:
    """Whether the two devices' variables or policies differ after this difference."""
    if difference not in MUTATING:
        return False
    if difference in ("3", "5", "16"):  # only when QEMU went on to store something
        return request.function == SET_VARIABLE and theirs.status == EFI_SUCCESS
    return True


#: What each recognised difference is (numbers as in intended-differences.md; "A": the
#: engine's INTENDED_DIFFERENCES additions, not in intended-differences.md).
DIFFERENCES: dict[str, str] = {
    "1": "GET_PAYLOAD_SIZE: ours buf_size - 40, QEMU 10.0.2 buf_size",
    "2": "APPEND with an older timestamp: ours accepts, QEMU 10.0.2 refuses",
    "3": "auth header dwLength < 24: ours SECURITY_VIOLATION, QEMU 10.0.2 UNSUPPORTED (or SUCCESS unverified)",
    "4": "PIO buffer zeroed on reallocation (QEMU 10.0.2 may show old bytes)",
    "5": "name without NUL within NameSize bytes: ours INVALID_PARAMETER, QEMU 10.0.2 scans on",
    "6": "GetNextVariableName after ExitBootServices: QEMU 10.0.2 returns a first variable without RT",
    "7": "READY_TO_BOOT/EXIT_BOOT_SERVICE functions: ours ReturnStatus SUCCESS, QEMU 10.0.2 leaves it",
    "8": "user mode DataSize-0 delete of a secure-boot database or AT variable: ours refuses",
    "9": "namespace-only policy: ours matches every name, QEMU never",
    "10": "lock-on-variable-state sub-entry: ours edk2 layout (name at 62), QEMU at 64",
    "11": "policy DUMP: ours implements it, QEMU UNSUPPORTED",
    "15": "db/dbx signed by PK: ours accepts, QEMU 10.0.2 checks only KEK",
    "16": "after EndOfDxe edk2's READ_ONLY variables are write-protected (ours; engine table only)",
    "A1": "dbt handled like db/dbx (ours), a private authenticated variable (QEMU)",
    "A2": "ContentInfo-wrapped PKCS#7: ours verifies it, QEMU double-wraps and refuses",
    "A7": "PIO copy-back: QEMU 10.0.2 also copies the 24 bytes after 24+MessageLength",
}


def differing_offsets(a: bytes, b: bytes) -> list[int]:
    common = min(len(a), len(b))
    out = [i for i in range(common) if a[i] != b[i]]
    out.extend(range(common, max(len(a), len(b))))
    return out


def _only_in(ours: Outcome, theirs: Outcome, allowed: Iterable[slice]) -> bool:
    """Same device status and length, and every differing byte inside ``allowed``."""
    if ours.device_status != theirs.device_status or len(ours.reply) != len(theirs.reply):
        return False
    ranges = list(allowed)
    return all(
        any(r.start <= i < r.stop for r in ranges) for i in differing_offsets(ours.reply, theirs.reply)
    )


def _name_units(raw: bytes) -> list[int]:
    return [raw[i] | raw[i + 1] << 8 for i in range(0, len(raw) - 1, 2)]


def _has_nul_within(raw: bytes) -> bool:
    return 0 in _name_units(raw)


def _name_of(raw: bytes) -> str:
    units = _name_units(raw)
    if 0 in units:
        units = units[: units.index(0)]
    return struct.pack(f"<{len(units)}H", *units).decode("utf-16-le", "surrogatepass")


def _d1_payload_size(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    if request.function != GET_PAYLOAD_SIZE or not _only_in(ours, theirs, [slice(40, 48)]):
        return False
    if ours.status != theirs.status or ours.status not in (EFI_SUCCESS, EFI_BUFFER_TOO_SMALL):
        return False
    # the value is clipped to MessageLength (the final rule still writes what fits)
    n = max(0, min(8, MM_HEADER + request.message_length - PAYLOAD))
    newest = struct.pack("<Q", ctx.buffer_size - MM_HEADER - VAR_HEADER)[:n]
    return (
        theirs.reply[40 : 40 + n] == struct.pack("<Q", ctx.buffer_size)[:n]
        and ours.reply[40 : 40 + n] == newest
    )


def _d2_append_time(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    access = request.access()
    if request.function != SET_VARIABLE or access is None or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    guid, _, _, attrs, raw, data = access
    if attrs & (AT | APPEND) != AT | APPEND or len(data) < 40:
        return False
    old = ctx.variable(guid, _name_of(raw))
    if old is None:
        return False
    new_time = EfiTime.from_bytes(data[:16])
    older = _time_key(new_time) < _time_key(old.timestamp or ZERO_TIME)
    return older and theirs.status == EFI_SECURITY_VIOLATION and ours.status != EFI_SECURITY_VIOLATION


def _time_key(t: EfiTime) -> tuple[int, ...]:
    return (t.year, t.month, t.day, t.hour, t.minute, t.second, t.nanosecond)


def _d3_short_dwlength(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    access = request.access()
    if request.function != SET_VARIABLE or access is None or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    _, _, _, attrs, _, data = access
    if not attrs & AT or len(data) < 40 or attrs & AW:
        return False
    dw_length = int.from_bytes(data[16:20], "little")
    # 10.0.2 has no dwLength check: UNSUPPORTED when the rest of the header is wrong too,
    # SUCCESS (storing bytes of the header as data) where no signature is checked (setup
    # or custom mode); where it must verify a signature it crashes (SIGSEGV), so the
    # suite never sends that.
    return (
        dw_length < 24
        and ours.status == EFI_SECURITY_VIOLATION
        and theirs.status in (EFI_UNSUPPORTED, EFI_SUCCESS)
    )


def _d5_name_bytes(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    if ours.device_status != theirs.device_status or len(ours.reply) != len(theirs.reply):
        return False
    if request.function in (GET_VARIABLE, SET_VARIABLE):
        access = request.access()
        if access is None:
            return False
        raw, name_size = access[4], access[2]
    elif request.function == GET_NEXT:
        nxt = request.next_name()
        if nxt is None:
            return False
        name_size, raw = nxt[1], nxt[2]
    else:
        return False
    if len(raw) < name_size or _has_nul_within(raw):
        return False
    if ours.status != EFI_INVALID_PARAMETER or theirs.status == EFI_INVALID_PARAMETER:
        return False
    # ours refused before touching anything: only the status differs from the request
    return _only_in(ours, Outcome(ours.device_status, request.buffer()[: len(ours.reply)]), [VAR_STATUS])


def _d6_first_variable(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    nxt = request.next_name()
    if nxt is None or not ctx.exit_boot_service or _name_of(nxt[2]) != "" or not _has_nul_within(nxt[2]):
        return False
    if ours.device_status != theirs.device_status or theirs.status not in (EFI_SUCCESS, EFI_BUFFER_TOO_SMALL):
        return False
    first = next(iter(ctx.store), None)
    if first is None or first.attributes & RT:
        return False
    # QEMU returned the first variable: its GUID, NameSize and (as far as MessageLength
    # reaches) its name
    expected_name = ucs2(first.name)
    shown = theirs.reply[64 : min(64 + len(expected_name), MM_HEADER + request.message_length)]
    if UUID(bytes_le=theirs.reply[40:56]) != first.guid or not expected_name.startswith(shown):
        return False
    if ours.status == EFI_NOT_FOUND:
        return True
    if ours.status not in (EFI_SUCCESS, EFI_BUFFER_TOO_SMALL):
        return False
    # ours returned the first variable that is accessible at runtime
    end = MM_HEADER + request.message_length
    guid, size = UUID(bytes_le=ours.reply[40:56]), ours.u64(56) or 0
    for var in ctx.store:
        name = ucs2(var.name)
        if var.attributes & RT and var.guid == guid and len(name) == size:
            return name.startswith(ours.reply[64 : min(64 + size, end)])
    return False


def _d7_event_functions(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    if request.function not in (READY_TO_BOOT, EXIT_BOOT_SERVICE) or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    sent = request.sent_status
    return sent != EFI_SUCCESS and ours.status == EFI_SUCCESS and theirs.status == sent


def _d8_unauthenticated_delete(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    access = request.access()
    if request.function != SET_VARIABLE or access is None or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    guid, data_size, _, _, raw, _ = access
    if data_size != 0 or ctx.setup_mode:
        return False
    old = ctx.variable(guid, _name_of(raw))
    if old is None:
        return False
    # secure-boot databases may still be deleted in custom mode; other AT variables never
    protected = not ctx.custom_mode if old.key in SECURE_BOOT_DATABASES else bool(old.attributes & AT)
    return protected and ours.status == EFI_SECURITY_VIOLATION and theirs.status == EFI_SUCCESS


def _policies_in_log(ctx: Context) -> list[Policy]:
    out = []
    for record in ctx.log:
        if isinstance(record, PolicyMatched | PolicyDenied):
            out.append(Policy.from_entry(record.policy))
    return out


def _d9_namespace_policy(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    if request.function != SET_VARIABLE or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    denied = [r for r in ctx.log if isinstance(r, PolicyDenied)]
    if not denied or ours.status not in (EFI_INVALID_PARAMETER, EFI_WRITE_PROTECTED):
        return False
    return Policy.from_entry(denied[-1].policy).is_namespace_wide and theirs.status != ours.status


def _d10_lock_on_var_state(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    if not _only_in(ours, theirs, [VAR_STATUS, POLICY_RESULT]):
        return False
    if request.policy_command == POLICY_REGISTER:
        entry = request.buffer()[44:]
        if len(entry) < 44 or entry[40] != LOCK_ON_VAR_STATE:
            return False
        offset_to_name = int.from_bytes(entry[6:8], "little")
        return (
            62 <= offset_to_name < 64
            and theirs.policy_result == EFI_BAD_BUFFER_SIZE
            and ours.policy_result != EFI_BAD_BUFFER_SIZE
        )
    if request.function != SET_VARIABLE:
        return False
    matched = _policies_in_log(ctx)
    if not matched or matched[-1].lock_type != LOCK_ON_VAR_STATE:
        return False
    entry = matched[-1].entry
    offset_to_name = int.from_bytes(entry[6:8], "little")
    if entry[62:offset_to_name] == entry[64:offset_to_name]:
        return False
    return EFI_WRITE_PROTECTED in (ours.status, theirs.status) and ours.status != theirs.status


def _d11_dump(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    if request.policy_command != POLICY_DUMP or ours.device_status != theirs.device_status:
        return False
    expected = Outcome(theirs.device_status, request.buffer()[: len(theirs.reply)])
    return (
        theirs.device_status == STS_SUCCESS
        and theirs.policy_result == EFI_UNSUPPORTED
        and _only_in(theirs, expected, [POLICY_RESULT])
        and len(ours.reply) == len(theirs.reply)
    )


def _signed_by(data: bytes, content: bytes, certs: list[bytes]) -> bool:
    if not certs or len(data) < 40:
        return False
    dw_length = int.from_bytes(data[16:20], "little")
    blob = data[40 : 16 + dw_length]
    return bool(blob) and pkcs7.verify(blob, content, certs).signature_valid


def _d15_pk_signed_db(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    access = request.access()
    if request.function != SET_VARIABLE or access is None or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    guid, _, _, attrs, raw, data = access
    name = _name_of(raw)
    if (guid, name) not in SECURE_BOOT_DATABASES or name not in ("db", "dbx") or not attrs & AT:
        return False
    if (
        ctx.setup_mode
        or ctx.custom_mode
        or theirs.status != EFI_SECURITY_VIOLATION
        or ours.status != EFI_SUCCESS
    ):
        return False
    pk, kek = ctx.variable(EFI_GLOBAL_VARIABLE, "PK"), ctx.variable(EFI_GLOBAL_VARIABLE, "KEK")
    if pk is None or len(data) < 40:
        return False
    dw_length = int.from_bytes(data[16:20], "little")
    content = raw[:-2] + guid.bytes_le + struct.pack("<I", attrs) + data[:16] + data[16 + dw_length :]
    kek_certs = x509_certificates(kek.data) if kek is not None else []
    return _signed_by(data, content, x509_certificates(pk.data)) and not _signed_by(data, content, kek_certs)


#: edk2's VarCheck READ_ONLY variables (VarCheckUefiLib; AuthVariableLib's mAuthVarEntry),
#: plus VendorKeysNv in EfiGlobalVariable where QEMU creates it (difference 16).
READ_ONLY_VARIABLES = frozenset(
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


def _d16_read_only(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    access = request.access()
    if request.function != SET_VARIABLE or access is None or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    guid, _, _, _, raw, _ = access
    return (
        ctx.end_of_dxe
        and (guid, _name_of(raw)) in READ_ONLY_VARIABLES
        and ours.status == EFI_WRITE_PROTECTED
        and theirs.status != EFI_WRITE_PROTECTED
    )


def _a1_dbt(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    access = request.access()
    if request.function != SET_VARIABLE or access is None or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    guid, _, _, _, raw, _ = access
    return guid == EFI_IMAGE_SECURITY_DATABASE and _name_of(raw) == "dbt"


def _a2_wrapped(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> bool:
    access = request.access()
    if request.function != SET_VARIABLE or access is None or not _only_in(ours, theirs, [VAR_STATUS]):
        return False
    data = access[5]
    if not access[3] & AT or len(data) < 40:
        return False
    dw_length = int.from_bytes(data[16:20], "little")
    blob = data[40 : 16 + dw_length]
    try:
        wrapped = pkcs7.parse_signed_data(blob).wrapped
    except Exception:
        return False
    return wrapped and ours.status == EFI_SUCCESS and theirs.status == EFI_SECURITY_VIOLATION


def _a7_normalise(request: Request, ours: Outcome, theirs: Outcome, ctx: Context) -> Outcome | None:
    """A7: QEMU 10.0.2's PIO copy-back writes 24 bytes of its internal buffer after
    24+MessageLength (zeros, or what a handler put beyond MessageLength); newest QEMU and
    the engine leave the uploaded bytes there. Returns ``theirs`` with those 24 bytes
    taken from ``ours`` when that is the only way they can differ there, else None."""
    if (
        ctx.mode != "pio"
        or ours.device_status != theirs.device_status
        or len(ours.reply) != len(theirs.reply)
    ):
        return None
    if ours.device_status == STS_ERR_BAD_BUFFER_SIZE:
        return None  # refused requests are not copied back
    end = MM_HEADER + request.message_length
    tail = slice(end, end + 24)
    if end >= len(ours.reply) or ours.reply[tail] == theirs.reply[tail]:
        return None
    if ours.reply[tail] != request.buffer()[tail]:
        return None
    return Outcome(theirs.device_status, theirs.reply[:end] + ours.reply[tail] + theirs.reply[end + 24 :])


Recognizer = Callable[[Request, Outcome, Outcome, Context], bool]

RECOGNIZERS: tuple[tuple[str, Recognizer], ...] = (
    ("1", _d1_payload_size),
    ("2", _d2_append_time),
    ("3", _d3_short_dwlength),
    ("5", _d5_name_bytes),
    ("6", _d6_first_variable),
    ("7", _d7_event_functions),
    ("8", _d8_unauthenticated_delete),
    ("9", _d9_namespace_policy),
    ("10", _d10_lock_on_var_state),
    ("11", _d11_dump),
    ("15", _d15_pk_signed_db),
    ("16", _d16_read_only),
    ("A1", _a1_dbt),
    ("A2", _a2_wrapped),
)


def allowed_difference(
    request: Request, ours: Outcome, theirs: Outcome, context: Context | None = None
) -> str | None:
    """The number of the documented intended difference that explains ``ours != theirs``.

    ``None`` when the outcomes are equal is not meaningful: call it for mismatches only.
    Returns ``None`` for anything that is not one of the documented differences.
    """
    ctx = context if context is not None else Context()
    normalised = _a7_normalise(request, ours, theirs, ctx)
    if normalised is not None:
        if normalised == ours:
            return "A7"
        theirs = normalised
    for number, recognise in RECOGNIZERS:
        if recognise(request, ours, theirs, ctx):
            return number
    return None


def allowed_pio_readback_difference(ours: bytes, theirs: bytes) -> str | None:
    """Difference 4: PIO buffer read right after a BUFFER_SIZE write, nothing uploaded."""
    if ours != theirs and ours == bytes(len(ours)) and len(theirs) == len(ours):
        return "4"
    return None


# --- the two sides -------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterOp:
    """One register access (``read``/``write``) or guest-memory operation (``mem_read``/``mem_write``)."""

    kind: Literal["read", "write", "mem_read", "mem_write"]
    offset: int
    width: int = 4
    value: int = 0
    data: bytes = b""

    def apply(self, target: Target) -> int:
        if self.kind == "read":
            return target.read(self.offset, self.width)
        if self.kind == "write":
            target.write(self.offset, self.width, self.value)
            return 0
        base = int(getattr(target, "dma_buffer_addr", 0))
        if self.kind == "mem_read":
            return int.from_bytes(target.mem_read(base + self.offset, self.width), "little")
        target.mem_write(base + self.offset, self.data)
        return 0

    def __str__(self) -> str:
        if self.kind == "read":
            return f"read{self.width} 0x{self.offset:02x}"
        if self.kind == "write":
            return f"write{self.width} 0x{self.offset:02x} 0x{self.value:x}"
        if self.kind == "mem_read":
            return f"mem_read +0x{self.offset:x} {self.width}"
        return f"mem_write +0x{self.offset:x} {self.data[:16].hex()}"


def reg_read(offset: int, width: int = 4) -> RegisterOp:
    return RegisterOp("read", offset, width)


def reg_write(offset: int, width: int, value: int) -> RegisterOp:
    return RegisterOp("write", offset, width, value)


class Side(Protocol):
    name: str
    session: GuestSession

    def reset(self, *, reinit: bool = True) -> None: ...

    def store_json(self) -> bytes: ...


class EngineSide:
    """The engine behind a Target with guest memory, driven like QEMU's device."""

    name = "engine"

    def __init__(self, device: UefiVarsDevice, session: GuestSession) -> None:
        self.device = device
        self.session = session

    def reset(self, *, reinit: bool = True) -> None:
        self.device.hard_reset()
        if reinit:
            self.session.initialize()

    def store_json(self) -> bytes:
        nv = VarStore(v for v in self.device.store if v.attributes & NV)
        return qemu_json.encode(nv)


class QemuSide:
    name = "qemu"

    def __init__(self, qemu: QemuQtest, session: GuestSession, jsonfile: Path) -> None:
        self.qemu = qemu
        self.session = session
        self.jsonfile = jsonfile

    def reset(self, *, reinit: bool = True) -> None:
        self.qemu.system_reset()
        if reinit:
            self.session.initialize()

    def store_json(self) -> bytes:
        for _ in range(100):  # QEMU truncates and rewrites in place
            data = self.jsonfile.read_bytes()
            try:
                json.loads(data)
            except ValueError:
                time.sleep(0.005)
                continue
            return data
        raise AssertionError(f"{self.jsonfile} never parsed")


def exchange(side: Side, request: Request) -> Outcome:
    """Send one request through the side's guest session; the whole read-back."""
    session = side.session
    message = request.effective_message(session.buffer_size)
    reply = session.communicate(request.header, message, message_length=request.message_length, strict=False)
    return Outcome(reply.device_status, bytes(session.last_reply))


class ConformanceMismatch(AssertionError):
    """The engine and QEMU disagree in a way no documented difference explains."""


#: Per-run tally of compared exchanges and recognised differences (printed by conftest).
TALLY: Counter[str] = Counter()


@dataclass(frozen=True)
class Step:
    request: Request
    ours: Outcome
    theirs: Outcome
    difference: str | None


def describe_mismatch(request: Request, ours: Outcome, theirs: Outcome, ctx: Context, where: str = "") -> str:
    diffs = differing_offsets(ours.reply, theirs.reply)
    lines = [
        f"{where}undocumented difference for {request!r}",
        f"  device status: engine 0x{ours.device_status:02x}, QEMU 0x{theirs.device_status:02x}",
    ]
    if request.is_variable:
        lines.append(f"  ReturnStatus: engine {_hex(ours.status)}, QEMU {_hex(theirs.status)}")
    if request.is_policy:
        lines.append(f"  policy Result: engine {_hex(ours.policy_result)}, QEMU {_hex(theirs.policy_result)}")
    lines.append(f"  {len(diffs)} differing bytes at {diffs[:24]}{' …' if len(diffs) > 24 else ''}")
    if diffs:
        lo = max(0, diffs[0] - 8)
        lines.append(f"  engine [{lo}:]: {ours.reply[lo : lo + 48].hex()}")
        lines.append(f"  QEMU   [{lo}:]: {theirs.reply[lo : lo + 48].hex()}")
    lines.append(f"  state: EBS={ctx.exit_boot_service} EndOfDxe={ctx.end_of_dxe} setup={ctx.setup_mode}")
    lines.extend(f"  engine log: {record.describe()}" for record in ctx.log if not _noise(record))
    return "\n".join(lines)


def _noise(record: LogRecord) -> bool:
    return type(record).__name__ in ("RegisterAccess", "Transfer", "PcapRecord", "MmRequest", "MmReply")


def _hex(value: int | None) -> str:
    return "-" if value is None else f"0x{value:x}"


class Pair:
    """Our engine and QEMU's device, driven with the same requests from the same store."""

    def __init__(
        self, ours: EngineSide, theirs: QemuSide, mode: Literal["dma", "pio"], label: str = ""
    ) -> None:
        self.ours = ours
        self.theirs = theirs
        self.mode = mode
        self.label = label
        self.steps: list[Step] = []
        #: documented differences after which stores/policies differ (see MUTATING)
        self.diverged: list[str] = []

    @property
    def device(self) -> UefiVarsDevice:
        return self.ours.device

    def context(self, log: tuple[LogRecord, ...] = ()) -> Context:
        dev = self.device
        return Context(
            mode=self.mode,
            buffer_size=self.ours.session.buffer_size,
            store=dev.store.copy(),
            exit_boot_service=dev.exit_boot_service,
            end_of_dxe=dev.end_of_dxe,
            setup_mode=dev.setup_mode,
            custom_mode=dev.custom_mode,
            log=log,
        )

    def send(self, request: Request, expect: str | None = None) -> Step:
        """Run ``request`` on both; fail unless equal or a documented difference.

        ``expect`` (a difference number) additionally requires exactly that difference.
        """
        before = self.context()
        self.device.drain_log()
        ours = exchange(self.ours, request)
        log = tuple(self.device.drain_log())
        theirs = exchange(self.theirs, request)
        ctx = Context(
            before.mode,
            before.buffer_size,
            before.store,
            before.exit_boot_service,
            before.end_of_dxe,
            before.setup_mode,
            before.custom_mode,
            log,
        )
        TALLY["exchanges"] += 1
        difference = None
        if ours != theirs:
            difference = allowed_difference(request, ours, theirs, ctx)
            if difference is None:
                raise ConformanceMismatch(describe_mismatch(request, ours, theirs, ctx, f"[{self.label}] "))
            TALLY[f"difference {difference}"] += 1
            if changes_state(difference, request, ours, theirs):
                self.diverged.append(difference)
        if expect is not None and difference != expect:
            raise AssertionError(
                f"expected intended difference {expect} for {request!r}, got "
                f"{'identical outcomes' if difference is None else 'difference ' + difference}: "
                f"engine {_hex(ours.status)}/{_hex(ours.policy_result)}, QEMU {_hex(theirs.status)}/{_hex(theirs.policy_result)}"
            )
        step = Step(request, ours, theirs, difference)
        self.steps.append(step)
        return step

    def run(self, requests: Iterable[Request]) -> list[Step]:
        return [self.send(r) for r in requests]

    def same(self, request: Request, allow: Iterable[str] = ("A7",)) -> Outcome:
        """Send; require identical outcomes (but for the PIO copy-back artefact A7)."""
        step = self.send(request)
        if step.difference is not None and step.difference not in allow:
            raise AssertionError(
                f"expected identical outcomes for {request!r}, got difference {step.difference}"
            )
        return step.ours

    def reset(self, *, reinit: bool = True) -> None:
        """Platform reset: QMP system_reset on QEMU, hard_reset() on the engine.

        With ``reinit`` both guest sessions then program the device again, as firmware
        does after a reset (the reset freed the buffer and cleared the DMA address)."""
        self.ours.reset(reinit=reinit)
        self.theirs.reset(reinit=reinit)
        TALLY["resets"] += 1

    def registers(self, script: Iterable[RegisterOp]) -> list[tuple[RegisterOp, int, int]]:
        """Run register accesses / guest-memory operations on both; compare every read."""
        results: list[tuple[RegisterOp, int, int]] = []
        targets = (self.ours.session.target, self.theirs.session.target)
        for op in script:
            values = [op.apply(t) for t in targets]
            results.append((op, values[0], values[1]))
            TALLY["register accesses"] += 1
            if op.kind in ("read", "mem_read") and values[0] != values[1]:
                raise ConformanceMismatch(
                    f"[{self.label}] {op}: engine 0x{values[0]:x}, QEMU 0x{values[1]:x}"
                )
        return results

    def register_reads(self) -> None:
        """Compare every register read a guest can do."""
        for offset, width in ((0x00, 2), (0x02, 2), (0x04, 4), (0x08, 4), (0x0C, 4), (0x1C, 4), (0x14, 4)):
            ours = self.ours.session.target.read(offset, width)
            theirs = self.theirs.session.target.read(offset, width)
            if ours != theirs:
                raise ConformanceMismatch(
                    f"[{self.label}] register 0x{offset:02x}/{width}: engine 0x{ours:x}, QEMU 0x{theirs:x}"
                )

    def compare_stores(self, exclude: Iterable[tuple[UUID, str]] = ()) -> None:
        """QEMU's JSON file against qemu_json.encode(engine NV variables), byte for byte.

        ``exclude`` drops variables from both before comparing (after a documented
        difference that changed them); then the parsed lists are compared in order.
        """
        ours, theirs = self.ours.store_json(), self.theirs.store_json()
        skip = {(str(g), n) for g, n in exclude}
        if not skip:
            if ours != theirs:
                raise ConformanceMismatch(f"[{self.label}] stores differ:\n{_store_diff(ours, theirs)}")
            return
        a = [v for v in json.loads(ours)["variables"] if (v["guid"], v["name"]) not in skip]
        b = [v for v in json.loads(theirs)["variables"] if (v["guid"], v["name"]) not in skip]
        if a != b:
            raise ConformanceMismatch(
                f"[{self.label}] stores differ (excluding {sorted(skip)}):\n{_store_diff(ours, theirs)}"
            )

    def enumerate(self) -> list[tuple[UUID, str]]:
        """Walk GetNextVariableName on both sides, comparing each step; the names."""
        names: list[tuple[UUID, str]] = []
        name, guid = "", UUID(int=0)
        for _ in range(500):
            out = self.same(get_next(name, guid, 128))
            if out.status != EFI_SUCCESS:
                return names
            guid = UUID(bytes_le=out.reply[40:56])
            size = out.u64(56) or 0
            name = _name_of(out.reply[64 : 64 + size])
            names.append((guid, name))
            if not name:  # an empty name restarts the walk: it cannot be passed
                return names
        raise AssertionError("GetNextVariableName does not end")

    def snapshot(self) -> None:
        """Compare everything a guest can read: every variable (Get) and QueryVariableInfo."""
        for guid, name in self.enumerate():
            self.same(get_variable(name, guid, 4096))
        self.same(query_info())


def _store_diff(ours: bytes, theirs: bytes) -> str:
    import difflib

    a = ours.decode(errors="replace").splitlines()
    b = theirs.decode(errors="replace").splitlines()
    diff = difflib.unified_diff(b, a, "QEMU", "engine", lineterm="", n=2)
    return "\n".join(line[:200] for line in list(diff)[:60])
