"""A minimal guest for the device tests: builds MM requests by hand and drives the
registers the way edk2's VirtMmCommunicationDxe does (DMA, or PIO with CRC32C).

Also: EFI_VARIABLE_AUTHENTICATION_2 and signature-list builders, and a fake PKCS#7
verifier whose "signatures" are a SHA-256 of the content plus a certificate list.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from uefivars_gui.core.crc import crc32c
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.guid import (
    EFI_CERT_SHA256,
    EFI_CERT_TYPE_PKCS7,
    EFI_CERT_X509,
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
)
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import BytearrayMemory, DeviceConfig, UefiVarsDevice

DMA_ADDRESS = 0x00200000
CERTS = Path(__file__).resolve().parents[1] / "data" / "certs"
OWNER = UUID("a0baa8a3-041d-48a8-bc87-c36d121b5e3d")

EFI_SUCCESS = 0
EFI_INVALID_PARAMETER = 0x8000000000000002
EFI_UNSUPPORTED = 0x8000000000000003
EFI_BAD_BUFFER_SIZE = 0x8000000000000004
EFI_BUFFER_TOO_SMALL = 0x8000000000000005
EFI_WRITE_PROTECTED = 0x8000000000000008
EFI_OUT_OF_RESOURCES = 0x8000000000000009
EFI_NOT_FOUND = 0x800000000000000E
EFI_ACCESS_DENIED = 0x800000000000000F
EFI_TIMEOUT = 0x8000000000000012
EFI_ALREADY_STARTED = 0x8000000000000014
EFI_SECURITY_VIOLATION = 0x800000000000001A


def cert(name: str) -> bytes:
    return (CERTS / name).read_bytes()


def ucs2(name: str) -> bytes:
    return (name + "\0").encode("utf-16-le")


def mm_buffer(guid: UUID, message: bytes) -> bytes:
    return guid.bytes_le + struct.pack("<Q", len(message)) + message


def var_message(function: int, payload: bytes = b"") -> bytes:
    return struct.pack("<QQ", function, 0) + payload


@dataclass
class GetResult:
    status: int
    data_size: int
    attributes: int
    data: bytes
    device_status: int = 0


@dataclass
class NextResult:
    status: int
    name: str
    guid: UUID
    name_size: int
    raw_name: bytes


class Guest:
    """Drives a :class:`UefiVarsDevice` like edk2's VirtMmCommunicationDxe."""

    def __init__(
        self, dev: UefiVarsDevice, memory: BytearrayMemory | None = None, address: int = DMA_ADDRESS
    ) -> None:
        self.dev = dev
        self.memory = memory
        self.address = address
        self.pio = False

    @classmethod
    def boot(
        cls,
        config: DeviceConfig | None = None,
        store: VarStore | None = None,
        verifier: object = None,
        reset: bool = True,
    ) -> Guest:
        config = config or DeviceConfig(strict=True)
        memory = BytearrayMemory(4 << 20)
        dev = UefiVarsDevice(config, store if store is not None else VarStore(), memory, verifier)  # type: ignore[arg-type]
        if reset:
            dev.hard_reset()
        guest = cls(dev, memory)
        guest.init()
        return guest

    # -- the driver ---------------------------------------------------------------------
    def init(self, buffer_size: int = 0x10000) -> None:
        assert self.dev.read(0x00, 2) == 0x0EF1
        self.dev.write(0x02, 2, 1)
        assert self.dev.read(0x02, 2) == 0
        self.dev.write(0x04, 4, buffer_size)
        self.pio = bool(self.dev.read(0x1C, 4) & 1)
        if not self.pio:
            self.dev.write(0x08, 4, self.address & 0xFFFFFFFF)
            self.dev.write(0x0C, 4, self.address >> 32)

    def communicate_raw(self, buf: bytes) -> tuple[int, bytes]:
        """Send ``buf``; the device status and the same number of bytes read back."""
        if self.pio:
            return self._pio(buf)
        assert self.memory is not None
        self.memory.write(self.address, buf)
        self.dev.write(0x02, 2, 2)
        status = self.dev.read(0x02, 2)
        return status, self.memory.read(self.address, len(buf))

    def _pio(self, buf: bytes) -> tuple[int, bytes]:
        padded = buf + bytes(-len(buf) % 4)
        self.dev.write(0x02, 2, 4)
        for i in range(0, len(padded), 4):
            self.dev.write(0x10, 4, int.from_bytes(padded[i : i + 4], "little"))
        assert self.dev.read(0x18, 4) == crc32c(padded), "CRC mismatch after upload"
        self.dev.write(0x02, 2, 3)
        status = self.dev.read(0x02, 2)
        self.dev.write(0x02, 2, 4)
        out = bytearray()
        for _ in range(0, len(padded), 4):
            out += self.dev.read(0x10, 4).to_bytes(4, "little")
        assert self.dev.read(0x18, 4) == crc32c(bytes(out)), "CRC mismatch after download"
        return status, bytes(out[: len(buf)])

    def communicate(self, guid: UUID, message: bytes) -> tuple[int, bytes]:
        return self.communicate_raw(mm_buffer(guid, message))

    def var_call(self, function: int, payload: bytes = b"", extra: int = 0) -> tuple[int, int, bytes]:
        """Variable protocol call: device status, ReturnStatus, reply bytes."""
        sts, reply = self.communicate(SMM_VARIABLE_PROTOCOL, var_message(function, payload) + bytes(extra))
        assert sts in (0, 0x12), f"device status 0x{sts:x}"
        return sts, struct.unpack_from("<Q", reply, 32)[0], reply

    def policy_call(
        self, command: int, params: bytes = b"", total: int | None = None
    ) -> tuple[int, int, bytes]:
        msg = b"VCPC" + struct.pack("<IIQ", 1, command, 0) + params
        if total is not None:
            msg += bytes(total - len(msg))
        sts, reply = self.communicate(VAR_CHECK_POLICY_MMI_HANDLER, msg)
        return sts, struct.unpack_from("<Q", reply, 36)[0], reply

    # -- variable services --------------------------------------------------------------
    def get_variable(
        self,
        name: str,
        guid: UUID,
        data_size: int = 4096,
        *,
        raw_name: bytes | None = None,
        message_length: int | None = None,
        name_size: int | None = None,
    ) -> GetResult:
        raw = ucs2(name) if raw_name is None else raw_name
        payload = guid.bytes_le + struct.pack(
            "<QQI", data_size, len(raw) if name_size is None else name_size, 0
        )
        msg = var_message(1, payload + raw + bytes(data_size))
        if message_length is not None:
            msg = msg[:message_length] + bytes(max(0, message_length - len(msg)))
        sts, reply = self.communicate(SMM_VARIABLE_PROTOCOL, msg)
        assert sts == 0, f"device status 0x{sts:x}"
        status = struct.unpack_from("<Q", reply, 32)[0]
        if len(reply) < 76:
            return GetResult(status, 0, 0, b"", sts)
        size, _, attrs = struct.unpack_from("<QQI", reply, 56)
        data = reply[76 + len(raw) : 76 + len(raw) + size] if status == EFI_SUCCESS else b""
        return GetResult(status, size, attrs, data, sts)

    def get_next(self, name: str, guid: UUID, buffer: int = 512) -> NextResult:
        raw = ucs2(name)
        room = max(buffer, len(raw))
        payload = guid.bytes_le + struct.pack("<Q", room) + raw + bytes(room - len(raw))
        _, status, reply = self.var_call(2, payload)
        out_guid = UUID(bytes_le=reply[40:56])
        size = struct.unpack_from("<Q", reply, 56)[0]
        raw_out = reply[64 : 64 + size]
        text = raw_out.decode("utf-16-le", "replace").split("\0")[0] if status == EFI_SUCCESS else ""
        return NextResult(status, text, out_guid, size, raw_out)

    def enumerate(self) -> list[tuple[UUID, str]]:
        names: list[tuple[UUID, str]] = []
        name, guid = "", UUID(int=0)
        while True:
            res = self.get_next(name, guid)
            if res.status == EFI_NOT_FOUND:
                return names
            assert res.status == EFI_SUCCESS, hex(res.status)
            name, guid = res.name, res.guid
            names.append((guid, name))

    def set_variable(
        self,
        name: str,
        guid: UUID,
        attributes: int,
        data: bytes,
        *,
        raw_name: bytes | None = None,
        data_size: int | None = None,
    ) -> int:
        raw = ucs2(name) if raw_name is None else raw_name
        size = len(data) if data_size is None else data_size
        payload = guid.bytes_le + struct.pack("<QQI", size, len(raw), attributes) + raw + data
        return self.var_call(3, payload)[1]

    def query_info(self, attributes: int = 7) -> tuple[int, int, int, int]:
        _, status, reply = self.var_call(4, struct.pack("<QQQI", 0, 0, 0, attributes))
        mx, remaining, maxvar = struct.unpack_from("<QQQ", reply, 40)
        return status, mx, remaining, maxvar

    def payload_size(self) -> tuple[int, int]:
        _, status, reply = self.var_call(11, bytes(8))
        return status, struct.unpack_from("<Q", reply, 40)[0]

    def lock_variable(self, name: str, guid: UUID) -> int:
        raw = ucs2(name)
        return self.var_call(8, guid.bytes_le + struct.pack("<Q", len(raw)) + raw)[1]

    def event(self, guid: UUID) -> int:
        return self.communicate(guid, b"\0")[0]


# -- authenticated variables ---------------------------------------------------------------


def timestamp(
    year: int = 2024, month: int = 1, day: int = 1, second: int = 0, nanosecond: int = 0
) -> EfiTime:
    return EfiTime(year, month, day, 0, 0, second, 0, nanosecond)


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
    length = 24 + len(cert_data) if dw_length is None else dw_length
    return (
        stamp.to_bytes()
        + struct.pack("<IHH", length, revision, cert_type)
        + cert_guid.bytes_le
        + cert_data
        + payload
    )


def signed_content(name: str, guid: UUID, attributes: int, stamp: EfiTime, payload: bytes) -> bytes:
    return (
        name.encode("utf-16-le") + guid.bytes_le + struct.pack("<I", attributes) + stamp.to_bytes() + payload
    )


def esl_x509(der: bytes, owner: UUID = OWNER) -> bytes:
    size = 16 + len(der)
    return EFI_CERT_X509.bytes_le + struct.pack("<III", 28 + size, 0, size) + owner.bytes_le + der


def esl_sha256(hashes: Sequence[bytes], owner: UUID = OWNER) -> bytes:
    body = b"".join(owner.bytes_le + h for h in hashes)
    return EFI_CERT_SHA256.bytes_le + struct.pack("<III", 28 + len(body), 0, 48) + body


class FakeVerifier:
    """ "SignedData" = b"FAKEP7" + count + (u16 len + cert)* + SHA-256(content).

    ``verify`` succeeds when the hash matches and one of the carried certificates is
    trusted (a stand-in for chain building). Calls are recorded.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, bytes, list[bytes]]] = []

    @staticmethod
    def sign(content: bytes, certs: Sequence[bytes]) -> bytes:
        out = b"FAKEP7" + bytes([len(certs)])
        for c in certs:
            out += struct.pack("<H", len(c)) + c
        return out + hashlib.sha256(content).digest()

    @staticmethod
    def _parse(blob: bytes) -> tuple[list[bytes], bytes]:
        if blob[:2] == b"\x30\x82" and blob[19:25] == b"FAKEP7":  # a ContentInfo-style wrapper
            blob = blob[19:]
        if not blob.startswith(b"FAKEP7"):
            raise ValueError("not a fake signature")
        count = blob[6]
        pos = 7
        certs = []
        for _ in range(count):
            (n,) = struct.unpack_from("<H", blob, pos)
            certs.append(blob[pos + 2 : pos + 2 + n])
            pos += 2 + n
        return certs, blob[pos : pos + 32]

    def verify(self, signed_data: bytes, content: bytes, trusted_certs: Sequence[bytes]) -> bool:
        self.calls.append((signed_data, content, list(trusted_certs)))
        certs, digest = self._parse(signed_data)
        return digest == hashlib.sha256(content).digest() and any(c in trusted_certs for c in certs)

    def signer_certificates(self, signed_data: bytes) -> list[bytes]:
        return self._parse(signed_data)[0]


def signed_write(
    name: str, guid: UUID, attributes: int, stamp: EfiTime, payload: bytes, certs: Sequence[bytes]
) -> bytes:
    """Data for a SetVariable: AUTHENTICATION_2 with a fake signature, then the payload."""
    sig = FakeVerifier.sign(signed_content(name, guid, attributes, stamp, payload), certs)
    return auth2(stamp, sig, payload)
