"""The SMM variable protocol (header GUID ed32d533-…) and the variable store semantics.

Implements qemu-uefi-vars.md §2.3 and §3 (newest QEMU): GET_VARIABLE,
GET_NEXT_VARIABLE_NAME, SET_VARIABLE, QUERY_VARIABLE_INFO, READY_TO_BOOT,
EXIT_BOOT_SERVICE, LOCK_VARIABLE and GET_PAYLOAD_SIZE; every other function answers
EFI_UNSUPPORTED. After each function the "final rule" applies: if MessageLength does not
cover the reply, ReturnStatus becomes EFI_BUFFER_TOO_SMALL.

Store model: the :class:`~uefivars_gui.core.store.VarStore` given to the engine, in list
order, keyed by (GUID, name up to the NUL). Every successful SetVariable moves the
variable to the tail. QEMU keeps the raw NameSize bytes a guest sent (bytes after the NUL
included); those are kept on the side and returned by GetNextVariableName. Storage is
``96 + NameSize + DataSize + digest size`` per variable, volatile ones included.

After EndOfDxe a guest SetVariable of an edk2 READ_ONLY variable (SetupMode, SecureBoot,
... see ``auth.READ_ONLY_VARIABLES``) answers EFI_WRITE_PROTECTED (intended difference
16); the device's own writes (``internal_set``) are not affected.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from uuid import UUID

from ..core.attributes import Attributes
from ..core.efitime import ZERO_TIME, EfiTime
from ..core.guid import (
    CUSTOM_MODE_ENABLE,
    EFI_CERT_RSA2048,
    EFI_CERT_SHA256,
    EFI_CERT_SHA384,
    EFI_CERT_SHA512,
    EFI_CERT_X509,
    EFI_GLOBAL_VARIABLE,
    SECURE_BOOT_ENABLE_DISABLE,
    guid_label,
)
from ..core.store import VarStore
from ..core.ucs2 import encode_ucs2
from ..core.variable import Variable, VariableKey
from .auth import (
    SECURE_BOOT_ATTRIBUTES,
    SETUP_MODE,
    STANDARD_SECURE_BOOT_MODE,
    USER_MODE,
    Authenticator,
    Pkcs7Verifier,
    is_pk,
    is_read_only_variable,
    is_secure_boot_variable,
    qemu_time_compare,
)
from .config import DeviceConfig
from .events import BootState
from .log import (
    BootEvent,
    LogRecord,
    Notice,
    PersistNeeded,
    PolicyDenied,
    PolicyMatched,
    SecurityViolation,
    VariableChanged,
)
from .policy import POLICY_ENTRY_SIZE, VARIABLE_POLICY_ENTRY_REVISION, PolicyEngine
from .sigmerge import append_merge
from .status import (
    MM_HEADER_SIZE,
    MM_VARIABLE_HEADER_SIZE,
    DeviceStatus,
    EfiStatus,
    PolicyLockType,
    SmmVariableFunction,
)

#: sizeof(struct uefi_variable) on a 64-bit host: QEMU's per-variable overhead.
VARIABLE_OVERHEAD = 96
#: EFI_VARIABLE_ATTRIBUTE_SUPPORTED (NV|BS|RT|HR|AT|APPEND)
ATTRIBUTES_SUPPORTED = 0x6F

_NV = 0x01
_BS = 0x02
_RT = 0x04
_AW = 0x10
_AT = 0x20
_APPEND = 0x40
_MASK64 = (1 << 64) - 1

# offsets in the buffer (MM header 24 + variable header 16 = payload at 40)
_FUNC = MM_HEADER_SIZE
_STATUS = MM_HEADER_SIZE + 8
_PAYLOAD = MM_HEADER_SIZE + MM_VARIABLE_HEADER_SIZE
_ACCESS_SIZE = 36  # mm_variable_access up to Name
_NEXT_SIZE = 24  # mm_next_variable up to Name
_INFO_SIZE = 28  # packed mm_variable_info
_PAYLOAD_SIZE_SIZE = 8

_ACCESS = struct.Struct("<16sQQI")
_NEXT = struct.Struct("<16sQ")
_U64 = struct.Struct("<Q")

# a surrogate, or an astral character (what a valid surrogate pair decodes to)
_BAD_NAME_CHAR = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")

_SIGNATURE_SUPPORT = b"".join(
    g.bytes_le for g in (EFI_CERT_SHA256, EFI_CERT_SHA384, EFI_CERT_SHA512, EFI_CERT_RSA2048, EFI_CERT_X509)
)

Emit = Callable[[LogRecord], None]
Handler = Callable[[bytearray, int, int], "tuple[int, EfiStatus, str | None]"]


def parse_name(raw: bytes | bytearray) -> str | None:
    """The name up to the NUL if QEMU accepts it (a NUL within ``len // 2`` units and no
    UTF-16 surrogate before it), else None."""
    even = bytes(raw[: len(raw) & ~1])
    try:
        text = even.decode("utf-16-le", "surrogatepass")
    except UnicodeDecodeError:  # pragma: no cover - even-length input always decodes
        return None
    nul = text.find("\0")
    if nul < 0:
        return None
    name = text[:nul]
    if _BAD_NAME_CHAR.search(name):
        return None
    return name


def name_up_to_nul(raw: bytes | bytearray) -> str:
    """The name part of raw UCS-2 bytes (up to the first NUL or the end), no validation."""
    even = bytes(raw[: len(raw) & ~1])
    text = even.decode("utf-16-le", "surrogatepass")
    nul = text.find("\0")
    return text if nul < 0 else text[:nul]


_GUID_CACHE: dict[bytes, UUID] = {}


def guid_of(raw: bytes | bytearray) -> UUID:
    """UUID from EFI GUID bytes, memoised (GUID parsing is a hot spot of GetVariable)."""
    key = bytes(raw)
    guid = _GUID_CACHE.get(key)
    if guid is None:
        if len(_GUID_CACHE) >= 4096:
            _GUID_CACHE.clear()
        guid = _GUID_CACHE[key] = UUID(bytes_le=key)
    return guid


def _put(buf: bytearray, off: int, data: bytes) -> None:
    """Write ``data`` at ``off``, clipped to the buffer (what is written back is 24+L)."""
    end = len(buf)
    if off >= end:
        return
    n = min(len(data), end - off)
    buf[off : off + n] = data[:n]


def _put_u64(buf: bytearray, off: int, value: int) -> None:
    _put(buf, off, _U64.pack(value & _MASK64))


class VariableService:
    """Variables, storage accounting, the variable protocol and the reset-time variables."""

    def __init__(
        self,
        config: DeviceConfig,
        store: VarStore,
        boot: BootState,
        policies: PolicyEngine,
        verifier: Pkcs7Verifier | None,
        emit: Emit,
    ) -> None:
        self.config = config
        self.store = store
        self.boot = boot
        self.policies = policies
        self.emit = emit
        self.max_storage = config.size
        self.auth = Authenticator(
            self.find,
            verifier,
            allow_unsigned_pk_in_setup_mode=config.allow_unsigned_pk_in_setup_mode,
            notice=self._notice,
        )
        #: raw NameSize bytes of variables whose name is not the canonical UCS-2 + NUL
        self._raw_names: dict[VariableKey, bytes] = {}
        self._order: list[VariableKey] | None = None
        self._order_index: dict[VariableKey, int] = {}
        self.used_storage = 0
        self.recompute_storage()
        self._handlers: dict[int, Handler] = {
            SmmVariableFunction.GET_VARIABLE: self._get_variable,
            SmmVariableFunction.GET_NEXT_VARIABLE_NAME: self._get_next_variable_name,
            SmmVariableFunction.SET_VARIABLE: self._set_variable,
            SmmVariableFunction.QUERY_VARIABLE_INFO: self._query_variable_info,
            SmmVariableFunction.READY_TO_BOOT: self._ready_to_boot,
            SmmVariableFunction.EXIT_BOOT_SERVICE: self._exit_boot_service,
            SmmVariableFunction.LOCK_VARIABLE: self._lock_variable,
            SmmVariableFunction.GET_PAYLOAD_SIZE: self._get_payload_size,
        }

    @property
    def verifier(self) -> Pkcs7Verifier | None:
        return self.auth.verifier

    @verifier.setter
    def verifier(self, value: Pkcs7Verifier | None) -> None:
        self.auth.verifier = value

    # -- store helpers ----------------------------------------------------------------
    def raw_name(self, var: Variable) -> bytes:
        raw = self._raw_names.get(var.key)
        return raw if raw is not None else encode_ucs2(var.name)

    def variable_size(self, var: Variable) -> int:
        return VARIABLE_OVERHEAD + len(self.raw_name(var)) + len(var.data) + len(var.digest or b"")

    def recompute_storage(self) -> None:
        """Recount ``used_storage`` and forget cached order (after outside changes)."""
        live = set(self.store.keys())
        for key in [k for k in self._raw_names if k not in live]:
            del self._raw_names[key]
        self.used_storage = sum(self.variable_size(v) for v in self.store)
        self._order = None

    def find(self, guid: UUID, name: str) -> Variable | None:
        """QEMU's ``uefi_vars_find_variable``: variables without data are invisible."""
        var = self.store.get(guid, name)
        if var is None or not var.data:
            return None
        return var

    def find_raw(self, guid: UUID, raw_name: bytes) -> Variable | None:
        return self.find(guid, name_up_to_nul(raw_name))

    def access_ok(self, attributes: int) -> bool:
        if self.boot.exit_boot_service:
            return bool(int(attributes) & _RT)
        return bool(int(attributes) & _BS)

    def _ordered_keys(self) -> tuple[list[VariableKey], dict[VariableKey, int]]:
        if self._order is None or len(self._order) != len(self.store):
            self._order = self.store.keys()
            self._order_index = {key: i for i, key in enumerate(self._order)}
        return self._order, self._order_index

    def _commit(self, key: VariableKey, new: Variable | None, raw: bytes | None) -> None:
        if new is None:
            self.store.discard(*key)
            self._raw_names.pop(key, None)
        else:
            self.store.append(new)
            if raw is None or raw == encode_ucs2(new.name):
                self._raw_names.pop(key, None)
            else:
                self._raw_names[key] = raw
        self._order = None

    def internal_set(
        self,
        guid: UUID,
        name: str,
        attributes: int,
        data: bytes,
        reason: str,
        timestamp: EfiTime | None = None,
    ) -> None:
        """QEMU's ``uefi_vars_set_variable`` (no checks; used at reset and after PK writes)."""
        key = (guid, name)
        old = self.store.get(guid, name)
        if old is not None:
            self.used_storage -= self.variable_size(old)
        new = Variable(name, guid, Attributes(attributes), bytes(data), timestamp)
        self._commit(key, new, None)
        self.used_storage += self.variable_size(new)
        self.emit(VariableChanged(guid, name, old, new, reason))

    def clear_volatile(self) -> None:
        for var in self.store:
            if var.attributes & _NV:
                continue
            self.used_storage -= self.variable_size(var)
            self._commit(var.key, None, None)
            self.emit(VariableChanged(var.guid, var.name, var, None, "reset (volatile)"))

    def auth_init(self, reason: str) -> None:
        """Re-create the secure-boot state variables (QEMU ``uefi_vars_auth_init``, §3.4)."""
        pk = self.find(EFI_GLOBAL_VARIABLE, "PK")
        mode = SETUP_MODE if pk is None else USER_MODE
        self.internal_set(EFI_GLOBAL_VARIABLE, "SetupMode", _BS | _RT, bytes([mode]), "auth-init")
        self.internal_set(EFI_GLOBAL_VARIABLE, "SignatureSupport", _BS | _RT, _SIGNATURE_SUPPORT, "auth-init")
        sbe = 0
        sbe_var = self.find(SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable")
        if sbe_var is not None:
            if mode == USER_MODE:
                sbe = sbe_var.data[0]
        elif mode == USER_MODE:
            sbe = 1
            self.internal_set(SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable", _NV | _BS, b"\x01", "auth-init")
        if self.config.force_secure_boot and sbe != 1:
            sbe = 1
            self.internal_set(SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable", _NV | _BS, b"\x01", "auth-init")
        secure_boot = 1 if sbe == 1 and mode == USER_MODE else 0
        self.internal_set(EFI_GLOBAL_VARIABLE, "SecureBoot", _BS | _RT, bytes([secure_boot]), "auth-init")
        self.internal_set(
            CUSTOM_MODE_ENABLE, "CustomMode", _NV | _BS, bytes([STANDARD_SECURE_BOOT_MODE]), "auth-init"
        )
        self.internal_set(
            EFI_GLOBAL_VARIABLE, "VendorKeysNv", _NV | _BS | _AT, b"\x00", "auth-init", ZERO_TIME
        )
        self.internal_set(EFI_GLOBAL_VARIABLE, "VendorKeys", _BS | _RT, b"\x00", "auth-init")
        self.emit(PersistNeeded(reason))

    def _notice(self, text: str) -> None:
        self.emit(Notice(text))

    # -- dispatch ---------------------------------------------------------------------
    def handle(self, buf: bytearray, length: int, buf_size: int) -> tuple[DeviceStatus, str | None]:
        """Process a variable-protocol request in ``buf`` (24 + ``length`` bytes) in place."""
        if length < MM_VARIABLE_HEADER_SIZE:
            return (
                DeviceStatus.ERR_BAD_BUFFER_SIZE,
                "MessageLength below 16 (SMM_VARIABLE_COMMUNICATE_HEADER)",
            )
        function = _U64.unpack_from(buf, _FUNC)[0]
        handler = self._handlers.get(function)
        problem: str | None
        if handler is None:
            used, status, problem = 16, EfiStatus.UNSUPPORTED, f"function {function} is not implemented"
        else:
            used, status, problem = handler(buf, length, buf_size)
        if length < used:
            if status == EfiStatus.SUCCESS:
                problem = f"MessageLength {length} does not cover the {used}-byte reply"
            status = EfiStatus.BUFFER_TOO_SMALL
        buf[_STATUS : _STATUS + 8] = _U64.pack(int(status))
        return DeviceStatus.SUCCESS, problem

    def _fits(self, buf_size: int, length: int) -> bool:
        """QEMU's check_buffer_size: the device buffer (not MessageLength) holds ``length``."""
        return buf_size - MM_HEADER_SIZE >= length

    # -- GET_VARIABLE -----------------------------------------------------------------
    def _get_variable(self, buf: bytearray, length: int, buf_size: int) -> tuple[int, EfiStatus, str | None]:
        used = MM_VARIABLE_HEADER_SIZE + _ACCESS_SIZE
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "MessageLength too small for the access-variable header"
        guid_raw, data_size, name_size, _attrs = _ACCESS.unpack_from(buf, _PAYLOAD)
        if name_size > self.max_storage or data_size > self.max_storage:
            return 16, EfiStatus.OUT_OF_RESOURCES, "NameSize or DataSize exceeds the storage size"
        used += name_size
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "NameSize exceeds MessageLength"
        name_off = _PAYLOAD + _ACCESS_SIZE
        name = parse_name(buf[name_off : name_off + name_size])
        if name is None:
            return (
                16,
                EfiStatus.INVALID_PARAMETER,
                "name is not NUL-terminated within NameSize or has a surrogate",
            )
        var = self.find(guid_of(guid_raw), name)
        if var is None:
            return 16, EfiStatus.NOT_FOUND, None
        if not self.access_ok(var.attributes):
            return 16, EfiStatus.ACCESS_DENIED, "variable is not accessible in this boot phase"
        used += data_size
        if not self._fits(buf_size, used):
            return 16, EfiStatus.BAD_BUFFER_SIZE, "DataSize exceeds the device buffer"
        struct.pack_into("<I", buf, _PAYLOAD + 32, int(var.attributes) & 0xFFFFFFFF)
        vlen = len(var.data)
        if data_size < vlen:
            _put_u64(buf, _PAYLOAD + 16, vlen)
            return (used - vlen) & _MASK64, EfiStatus.BUFFER_TOO_SMALL, None
        _put_u64(buf, _PAYLOAD + 16, vlen)
        _put(buf, name_off + name_size, var.data)
        return used, EfiStatus.SUCCESS, None

    # -- GET_NEXT_VARIABLE_NAME -------------------------------------------------------
    def _get_next_variable_name(
        self, buf: bytearray, length: int, buf_size: int
    ) -> tuple[int, EfiStatus, str | None]:
        used = MM_VARIABLE_HEADER_SIZE + _NEXT_SIZE
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "MessageLength too small for the next-variable header"
        guid_raw, name_size = _NEXT.unpack_from(buf, _PAYLOAD)
        if name_size > self.max_storage:
            return 16, EfiStatus.OUT_OF_RESOURCES, "NameSize exceeds the storage size"
        used += name_size
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "NameSize exceeds MessageLength"
        name_off = _PAYLOAD + _NEXT_SIZE
        name = parse_name(buf[name_off : name_off + name_size])
        if name is None:
            return (
                16,
                EfiStatus.INVALID_PARAMETER,
                "name is not NUL-terminated within NameSize or has a surrogate",
            )
        keys, index = self._ordered_keys()
        if name == "":
            start = 0
        else:
            guid = guid_of(guid_raw)
            if self.find(guid, name) is None:
                return 16, EfiStatus.INVALID_PARAMETER, "the current name is not an existing variable"
            pos = index.get((guid, name))
            if pos is None:  # the store changed behind our back: rebuild the order
                self._order = None
                keys, index = self._ordered_keys()
                pos = index[(guid, name)]
            start = pos + 1
        found: Variable | None = None
        for i in range(start, len(keys)):
            cand = self.store.get(*keys[i])
            if cand is not None and self.access_ok(cand.attributes):
                found = cand
                break
        if found is None:
            return 16, EfiStatus.NOT_FOUND, None
        raw = self.raw_name(found)
        used = MM_VARIABLE_HEADER_SIZE + _NEXT_SIZE + len(raw)
        if not self._fits(buf_size, used):
            return 16, EfiStatus.BAD_BUFFER_SIZE, "the name does not fit the device buffer"
        _put(buf, _PAYLOAD, found.guid.bytes_le)
        _put_u64(buf, _PAYLOAD + 16, len(raw))
        _put(buf, name_off, raw)
        return used, EfiStatus.SUCCESS, None

    # -- SET_VARIABLE -----------------------------------------------------------------
    def _set_variable(self, buf: bytearray, length: int, buf_size: int) -> tuple[int, EfiStatus, str | None]:
        used = MM_VARIABLE_HEADER_SIZE + _ACCESS_SIZE
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "MessageLength too small for the access-variable header"
        guid_raw, data_size, name_size, attrs = _ACCESS.unpack_from(buf, _PAYLOAD)
        if name_size > self.max_storage or data_size > self.max_storage:
            return 16, EfiStatus.OUT_OF_RESOURCES, "NameSize or DataSize exceeds the storage size"
        used += name_size
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "NameSize exceeds MessageLength"
        used += data_size
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "DataSize exceeds MessageLength"
        name_off = _PAYLOAD + _ACCESS_SIZE
        raw_name = bytes(buf[name_off : name_off + name_size])
        name = parse_name(raw_name)
        if name is None:
            return (
                16,
                EfiStatus.INVALID_PARAMETER,
                "name is not NUL-terminated within NameSize or has a surrogate",
            )
        data = bytes(buf[name_off + name_size : name_off + name_size + data_size])
        guid = guid_of(guid_raw)
        status, problem = self.set_variable(guid, name, raw_name, attrs, data)
        return 16, status, problem

    def set_variable(
        self, guid: UUID, name: str, raw_name: bytes, attrs: int, data: bytes
    ) -> tuple[EfiStatus, str | None]:
        """SetVariable semantics (qemu-uefi-vars.md §3.3) on parsed arguments."""
        if self.boot.end_of_dxe and is_read_only_variable(guid, name):
            # intended difference 16: edk2's VarCheck READ_ONLY property, checked before
            # the variable is looked up (writes and deletes alike); device writes go
            # through internal_set and are not affected
            return self._violation(
                "read-only variable (edk2 VarCheck READ_ONLY) after EndOfDxe",
                name,
                guid,
                EfiStatus.WRITE_PROTECTED,
            )
        key = (guid, name)
        shadow = self.store.get(guid, name)  # may be an invisible (empty) variable
        old = shadow if shadow is not None and shadow.data else None
        new: Variable | None = None
        stored_attrs = attrs & ~_APPEND
        if data:
            if attrs & _AW:
                self._notice("SetVariable: AUTHENTICATED_WRITE_ACCESS is not supported")
                return EfiStatus.UNSUPPORTED, "count-based authenticated variables are not supported"
            if attrs & _AT:
                result = self.auth.check_auth_2(guid, name, raw_name, attrs, data)
                if result.status != EfiStatus.SUCCESS:
                    self._violation(result.reason, name, guid, result.status)
                    return result.status, result.reason
                stamp = result.timestamp or ZERO_TIME
                if old is not None:
                    if not attrs & _APPEND and qemu_time_compare(old.timestamp or ZERO_TIME, stamp) > 0:
                        return self._violation("time check failed", name, guid)
                    old_digest = old.digest or b""
                    new_digest = result.digest or b""
                    if old_digest or new_digest:
                        if not old_digest or not new_digest:
                            return self._violation("inconsistent authvar digest state", name, guid)
                        if len(old_digest) != len(new_digest):
                            return self._violation("authvar digest size mismatch", name, guid)
                        if old_digest != new_digest:
                            return self._violation("authvar digest data mismatch", name, guid)
                if result.payload:
                    new = Variable(name, guid, Attributes(stored_attrs), result.payload, stamp, result.digest)
            else:
                new = Variable(name, guid, Attributes(stored_attrs), data)
        if old is None and new is None:
            return EfiStatus.SUCCESS, None
        status, problem = self._check_update(guid, name, raw_name, old, new)
        if status != EfiStatus.SUCCESS:
            return status, problem
        if new is None and not data and old is not None:
            # after QEMU's own checks, so that only deletes QEMU would perform are refused
            refusal = self._unauthenticated_delete_refusal(old)
            if refusal is not None:
                return self._violation(refusal, name, guid)
        if attrs & _APPEND and old is not None and new is not None:
            if not is_secure_boot_variable(guid, name):
                return EfiStatus.UNSUPPORTED, "APPEND_WRITE is only supported for PK/KEK/db/dbx/dbt"
            new = new.with_data(append_merge(old.data, new.data, self._notice))
        new_used = self.used_storage
        if shadow is not None:
            new_used -= self.variable_size(shadow)
        if new is not None:
            new_used += VARIABLE_OVERHEAD + len(raw_name) + len(new.data) + len(new.digest or b"")
        if new_used > self.max_storage:
            return EfiStatus.OUT_OF_RESOURCES, "the storage quota is exhausted"
        self._commit(key, new, raw_name)
        self.used_storage = new_used
        self.emit(VariableChanged(guid, name, old, new))
        target = new if new is not None else old
        assert target is not None
        if target.attributes & _NV:
            self.emit(PersistNeeded(f"set-variable {name}"))
        if new is not None and is_pk(guid, name):
            self.auth_init("PK written")
        return EfiStatus.SUCCESS, None

    def _violation(
        self, reason: str, name: str, guid: UUID, status: EfiStatus = EfiStatus.SECURITY_VIOLATION
    ) -> tuple[EfiStatus, str | None]:
        self.emit(SecurityViolation(reason, name, guid, int(status)))
        return status, reason

    def _unauthenticated_delete_refusal(self, old: Variable) -> str | None:
        """Intended difference 8 (edk2): in user mode a DataSize-0 SetVariable must not
        delete a secure-boot database or a private authenticated variable."""
        if self.auth.setup_mode_active():
            return None
        if is_secure_boot_variable(old.guid, old.name):
            if self.auth.custom_mode_active():
                return None
            return "unauthenticated delete of a secure-boot database in user mode"
        if old.attributes & _AT:
            return "unauthenticated delete of a time-based authenticated variable"
        return None

    def _check_update(
        self, guid: UUID, name: str, raw_name: bytes, old: Variable | None, new: Variable | None
    ) -> tuple[EfiStatus, str | None]:
        if old is not None and not self.access_ok(old.attributes):
            return EfiStatus.ACCESS_DENIED, "the existing variable is not accessible in this boot phase"
        if new is not None:
            if new.attributes & ~ATTRIBUTES_SUPPORTED:
                return EfiStatus.UNSUPPORTED, f"unsupported attribute bits 0x{int(new.attributes):x}"
            if not self.access_ok(new.attributes):
                return EfiStatus.ACCESS_DENIED, "the attributes do not allow access in this boot phase"
        if old is not None and new is not None and int(old.attributes) != int(new.attributes):
            return EfiStatus.INVALID_PARAMETER, (
                f"attributes 0x{int(new.attributes):x} differ from the existing 0x{int(old.attributes):x}"
            )
        target = new if new is not None else old
        assert target is not None
        policy_name = raw_name if new is not None else self.raw_name(target)
        verdict = self.policies.check(
            guid,
            policy_name,
            int(target.attributes),
            len(target.data),
            new is not None and old is None,
            self.boot.end_of_dxe,
            self.find_raw,
        )
        if verdict.policy is not None:
            self.emit(PolicyMatched(name, guid, verdict.policy.entry))
        if verdict.status != EfiStatus.SUCCESS:
            entry = verdict.policy.entry if verdict.policy is not None else b""
            self.emit(PolicyDenied(verdict.reason, name, guid, int(verdict.status), entry))
            return verdict.status, f"policy: {verdict.reason}"
        return self._check_secure_boot(target)

    def _check_secure_boot(self, var: Variable) -> tuple[EfiStatus, str | None]:
        if is_secure_boot_variable(var.guid, var.name) and int(var.attributes) != SECURE_BOOT_ATTRIBUTES:
            return EfiStatus.INVALID_PARAMETER, "secure-boot databases need attributes NV|BS|RT|AT (0x27)"
        if (
            var.guid == SECURE_BOOT_ENABLE_DISABLE
            and var.name == "SecureBootEnable"
            and self.config.force_secure_boot
            and var.data[:1] != b"\x01"
        ):
            return EfiStatus.WRITE_PROTECTED, "force-secure-boot: SecureBootEnable must stay 1"
        if var.guid == CUSTOM_MODE_ENABLE and var.name == "CustomMode" and self.config.disable_custom_mode:
            return EfiStatus.WRITE_PROTECTED, "disable-custom-mode: CustomMode is read-only"
        return EfiStatus.SUCCESS, None

    # -- QUERY_VARIABLE_INFO ----------------------------------------------------------
    def _query_variable_info(
        self, buf: bytearray, length: int, buf_size: int
    ) -> tuple[int, EfiStatus, str | None]:
        used = MM_VARIABLE_HEADER_SIZE + _INFO_SIZE
        if not self._fits(buf_size, used):
            return 16, EfiStatus.BAD_BUFFER_SIZE, "the device buffer is too small"
        _put(
            buf,
            _PAYLOAD,
            struct.pack(
                "<QQQI",
                self.max_storage,
                (self.max_storage - self.used_storage) & _MASK64,
                self.max_storage >> 2,
                0,
            ),
        )
        return used, EfiStatus.SUCCESS, None

    @property
    def remaining_storage(self) -> int:
        return self.max_storage - self.used_storage

    # -- READY_TO_BOOT / EXIT_BOOT_SERVICE ---------------------------------------------
    def _ready_to_boot(self, buf: bytearray, length: int, buf_size: int) -> tuple[int, EfiStatus, str | None]:
        self.boot.signal("ready-to-boot")
        self.emit(BootEvent("ready-to-boot", "function"))
        return 0, EfiStatus.SUCCESS, None

    def _exit_boot_service(
        self, buf: bytearray, length: int, buf_size: int
    ) -> tuple[int, EfiStatus, str | None]:
        self.boot.signal("exit-boot-service")
        self.emit(BootEvent("exit-boot-service", "function"))
        return 0, EfiStatus.SUCCESS, None

    # -- LOCK_VARIABLE ----------------------------------------------------------------
    def _lock_variable(self, buf: bytearray, length: int, buf_size: int) -> tuple[int, EfiStatus, str | None]:
        used = MM_VARIABLE_HEADER_SIZE + _NEXT_SIZE
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "MessageLength too small for the lock-variable header"
        guid_raw, name_size = _NEXT.unpack_from(buf, _PAYLOAD)
        used += name_size
        if length < used:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "NameSize exceeds MessageLength"
        if POLICY_ENTRY_SIZE + name_size > 0xFFFF:
            return 16, EfiStatus.BAD_BUFFER_SIZE, "name too long for a policy entry"
        name_off = _PAYLOAD + _NEXT_SIZE
        raw = bytes(buf[name_off : name_off + name_size])
        entry = (
            struct.pack(
                "<IHH16sIIIIB3x",
                VARIABLE_POLICY_ENTRY_REVISION,
                POLICY_ENTRY_SIZE + name_size,
                POLICY_ENTRY_SIZE,
                bytes(guid_raw),
                0,
                0xFFFFFFFF,
                0,
                0,
                PolicyLockType.LOCK_NOW,
            )
            + raw
        )
        status = self.policies.add(entry)
        if status != EfiStatus.SUCCESS:
            return 16, status, "too many policies"
        return used, EfiStatus.SUCCESS, None

    # -- GET_PAYLOAD_SIZE -------------------------------------------------------------
    def _get_payload_size(
        self, buf: bytearray, length: int, buf_size: int
    ) -> tuple[int, EfiStatus, str | None]:
        used = MM_VARIABLE_HEADER_SIZE + _PAYLOAD_SIZE_SIZE
        if not self._fits(buf_size, used):
            return 16, EfiStatus.BAD_BUFFER_SIZE, "the device buffer is too small"
        _put_u64(buf, _PAYLOAD, buf_size - MM_HEADER_SIZE - MM_VARIABLE_HEADER_SIZE)
        return used, EfiStatus.SUCCESS, None

    def describe_variable(self, var: Variable) -> str:
        return f"{var.name} ({guid_label(var.guid)})"
