"""Variable policies: the VarCheckPolicy MM protocol and the SetVariable check.

QEMU behaviour (qemu-uefi-vars.md §2.4) with the project's intended differences:

* a namespace-only policy (no name) matches every name of its namespace with edk2's
  lowest priority 255 (QEMU never matches it) — difference 9;
* the LOCK_ON_VARIABLE_STATE sub-entry uses edk2's packed 18-byte layout, so the state
  variable's name starts at entry offset 62 (QEMU: 64) — difference 10;
* DUMP is implemented with edk2's pagination (QEMU: EFI_UNSUPPORTED) — difference 11;
* the interface locks only on the LOCK command; DISABLE stays EFI_UNSUPPORTED — 12;
* registrations beyond :data:`MAX_POLICY_BYTES` of entries are refused with
  EFI_OUT_OF_RESOURCES so that a guest cannot grow host memory without bound (ours).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from ..core.variable import Variable
from .status import (
    MM_CHECK_POLICY_HEADER_SIZE,
    MM_HEADER_SIZE,
    DeviceStatus,
    EfiStatus,
    PolicyLockType,
    VarCheckPolicyCommand,
)

VARIABLE_POLICY_ENTRY_REVISION = 0x00010000
POLICY_ENTRY_SIZE = 44
#: edk2's packed VARIABLE_LOCK_ON_VAR_STATE_POLICY (namespace, value, padding).
LOCK_ON_VAR_STATE_SIZE = 18
#: VAR_CHECK_POLICY_COMM_DUMP_PARAMS
DUMP_PARAMS_SIZE = 13
#: VAR_CHECK_POLICY_MM_DUMP_BUFFER_SIZE (16384 - (24 + 20 + 13))
DUMP_PAGE_SIZE = 16327
#: Limit on the summed size of all registered entries (ours alone).
MAX_POLICY_BYTES = 1 << 20
_MATCH_PRIORITY_MIN = 255

_ENTRY = struct.Struct("<IHH16sIIIIB3x")
_HEX = frozenset(b"0123456789abcdefABCDEF")

#: find(guid, raw_name) -> the variable (QEMU's ``uefi_vars_find_variable``)
RawFinder = Callable[[UUID, bytes], Variable | None]


def _units(raw: bytes) -> list[int]:
    return [raw[i] | (raw[i + 1] << 8) for i in range(0, len(raw) - 1, 2)]


def ucs2_equal(a: bytes, b: bytes, wildcards_in_a: bool = False) -> bool:
    """QEMU's ``uefi_str_equal_ex``: compare up to a NUL or the end of either buffer."""
    ua, ub = _units(a), _units(b)
    alen, blen = len(ua), len(ub)
    pos = 0
    while True:
        if pos == alen and pos == blen:
            return True
        if pos == alen and ub[pos] == 0:
            return True
        if pos == blen and ua[pos] == 0:
            return True
        if pos in (alen, blen):
            return False
        if ua[pos] == 0 and ub[pos] == 0:
            return True
        if wildcards_in_a and ua[pos] == 0x23:  # '#'
            if ub[pos] not in _HEX:
                return False
        elif ua[pos] != ub[pos]:
            return False
        pos += 1


def ucs2_valid(raw: bytes, must_be_nul_terminated: bool) -> bool:
    """QEMU's ``uefi_str_is_valid`` over ``len(raw) // 2`` units (newest, in bytes)."""
    for unit in _units(raw):
        if unit == 0:
            return True
        if 0xD800 <= unit <= 0xDFFF:
            return False
    return not must_be_nul_terminated


@dataclass(frozen=True, slots=True)
class Policy:
    """One registered VARIABLE_POLICY_ENTRY (the whole entry is kept as ``entry``)."""

    entry: bytes
    namespace: UUID
    min_size: int
    max_size: int
    must_have: int
    cant_have: int
    lock_type: int
    name: bytes
    hashmarks: int

    @classmethod
    def from_entry(cls, entry: bytes) -> Policy:
        _ver, size, offset_to_name, ns, min_size, max_size, must, cant, lock_type = _ENTRY.unpack_from(
            entry, 0
        )
        name = bytes(entry[offset_to_name:size])
        hashmarks = sum(1 for unit in _units(name) if unit == 0x23)
        return cls(
            bytes(entry[:size]),
            UUID(bytes_le=bytes(ns)),
            min_size,
            max_size,
            must,
            cant,
            lock_type,
            name,
            hashmarks,
        )

    @property
    def offset_to_name(self) -> int:
        return int.from_bytes(self.entry[6:8], "little")

    @property
    def is_namespace_wide(self) -> bool:
        return len(self.name) == 0

    @property
    def priority(self) -> int:
        return _MATCH_PRIORITY_MIN if self.is_namespace_wide else min(self.hashmarks, _MATCH_PRIORITY_MIN)

    # LOCK_ON_VARIABLE_STATE, edk2 packed layout (intended difference 10)
    @property
    def state_namespace(self) -> UUID | None:
        if self.lock_type != PolicyLockType.LOCK_ON_VAR_STATE or len(self.entry) < 62:
            return None
        return UUID(bytes_le=self.entry[44:60])

    @property
    def state_value(self) -> int:
        return self.entry[60] if len(self.entry) > 60 else 0

    @property
    def state_name(self) -> bytes:
        return self.entry[62 : self.offset_to_name]

    def matches(self, guid: UUID, raw_name: bytes) -> bool:
        if guid != self.namespace:
            return False
        if self.is_namespace_wide:
            return True
        return ucs2_equal(self.name, raw_name, wildcards_in_a=True)

    def describe(self) -> str:
        from .log import ucs2_display

        name = ucs2_display(self.name) if self.name else "*"
        return f"{name} ({self.namespace}) {PolicyLockType(self.lock_type).name if self.lock_type < 4 else self.lock_type}"


@dataclass(frozen=True, slots=True)
class PolicyVerdict:
    status: EfiStatus
    reason: str = ""
    policy: Policy | None = None


class PolicyEngine:
    """Registered policies, the interface lock and the DUMP pagination cache."""

    def __init__(self) -> None:
        #: the administrator's policies (``uefivars serve --policies``): checked on their
        #: own before the guest's, so no guest registration can outrank them; kept across
        #: hard resets; listed first by DUMP
        self.host: list[Policy] = []
        #: QEMU's list order: sorted by hashmark count, nameless ones after named ones
        self.policies: list[Policy] = []
        #: registration order (what DUMP returns, as edk2)
        self.registered: list[Policy] = []
        self.locked = False
        self._bytes = 0
        self._dump_cache: bytes | None = None

    def set_host_policies(self, entries: Sequence[bytes]) -> None:
        """Install the host's policies (already validated VARIABLE_POLICY_ENTRY bytes)."""
        self.host = [Policy.from_entry(entry) for entry in entries]
        self._dump_cache = None

    def clear(self) -> None:
        """Hard reset: delete every guest policy and unlock (host policies stay)."""
        self.policies.clear()
        self.registered.clear()
        self.locked = False
        self._bytes = 0
        self._dump_cache = None

    # -- registration -----------------------------------------------------------------
    def add(self, entry: bytes) -> EfiStatus:
        """Append without checks (LOCK_VARIABLE and REGISTER after validation)."""
        if self._bytes + len(entry) > MAX_POLICY_BYTES:
            return EfiStatus.OUT_OF_RESOURCES
        pol = Policy.from_entry(entry)
        index = len(self.policies)
        for i, p in enumerate(self.policies):
            if p.hashmarks > pol.hashmarks or (not p.name and pol.name):
                index = i
                break
        self.policies.insert(index, pol)
        self.registered.append(pol)
        self._bytes += len(pol.entry)
        return EfiStatus.SUCCESS

    def _find_exact(self, namespace: UUID, name: bytes) -> Policy | None:
        for pol in self.host + self.policies:
            if pol.namespace == namespace and ucs2_equal(pol.name, name):
                return pol
        return None

    def best_match(self, guid: UUID, raw_name: bytes, *, host: bool = False) -> Policy | None:
        """The lowest-priority-value match; on a tie the first in list order."""
        best: Policy | None = None
        for pol in self.host if host else self.policies:
            if pol.matches(guid, raw_name) and (best is None or pol.priority < best.priority):
                best = pol
                if best.priority == 0:
                    break
        return best

    # -- enforcement ------------------------------------------------------------------
    def check(
        self,
        guid: UUID,
        raw_name: bytes,
        attributes: int,
        data_size: int,
        is_new: bool,
        end_of_dxe: bool,
        find: RawFinder,
    ) -> PolicyVerdict:
        """QEMU's ``uefi_vars_policy_check`` (on the new variable, or the old one for a delete).

        The host's best match is judged first and on its own, then the guest's."""
        if not end_of_dxe:
            return PolicyVerdict(EfiStatus.SUCCESS)
        verdict = PolicyVerdict(EfiStatus.SUCCESS)
        for host in (True, False):
            pol = self.best_match(guid, raw_name, host=host)
            if pol is not None:
                verdict = self._judge(pol, attributes, data_size, is_new, find)
                if verdict.status != EfiStatus.SUCCESS:
                    return verdict
        return verdict

    @staticmethod
    def _judge(pol: Policy, attributes: int, data_size: int, is_new: bool, find: RawFinder) -> PolicyVerdict:
        if attributes & pol.must_have != pol.must_have:
            return PolicyVerdict(EfiStatus.INVALID_PARAMETER, "must-have-attr", pol)
        if attributes & pol.cant_have:
            return PolicyVerdict(EfiStatus.INVALID_PARAMETER, "cant-have-attr", pol)
        if data_size < pol.min_size:
            return PolicyVerdict(EfiStatus.INVALID_PARAMETER, "min-size", pol)
        if data_size > pol.max_size:
            return PolicyVerdict(EfiStatus.INVALID_PARAMETER, "max-size", pol)
        if pol.lock_type == PolicyLockType.LOCK_NOW:
            return PolicyVerdict(EfiStatus.WRITE_PROTECTED, "lock-now", pol)
        if pol.lock_type == PolicyLockType.LOCK_ON_CREATE and not is_new:
            return PolicyVerdict(EfiStatus.WRITE_PROTECTED, "lock-on-create", pol)
        if pol.lock_type == PolicyLockType.LOCK_ON_VAR_STATE:
            ns = pol.state_namespace
            if ns is not None:
                lvar = find(ns, pol.state_name)
                if lvar is not None and len(lvar.data) == 1 and lvar.data[0] == pol.state_value:
                    return PolicyVerdict(EfiStatus.WRITE_PROTECTED, "lock-on-var-state", pol)
        return PolicyVerdict(EfiStatus.SUCCESS, "", pol)

    # -- the MM protocol --------------------------------------------------------------
    def handle(self, buf: bytearray, length: int) -> tuple[DeviceStatus, str | None]:
        """Process a VarCheckPolicy request in ``buf`` (24 + ``length`` bytes) in place."""
        if length < MM_CHECK_POLICY_HEADER_SIZE:
            return DeviceStatus.ERR_BAD_BUFFER_SIZE, "MessageLength below 20 (VAR_CHECK_POLICY_COMM_HEADER)"
        command = int.from_bytes(buf[32:36], "little")
        if self._dump_cache is not None and command != VarCheckPolicyCommand.DUMP:
            self._dump_cache = None
        problem: str | None = None
        if command == VarCheckPolicyCommand.DISABLE:
            result = EfiStatus.UNSUPPORTED
            problem = "policies cannot be disabled"
        elif command == VarCheckPolicyCommand.IS_ENABLED:
            if length < MM_CHECK_POLICY_HEADER_SIZE + 1:
                result, problem = EfiStatus.BAD_BUFFER_SIZE, "no room for the State parameter"
            else:
                buf[MM_HEADER_SIZE + MM_CHECK_POLICY_HEADER_SIZE] = 1
                result = EfiStatus.SUCCESS
        elif command == VarCheckPolicyCommand.REGISTER:
            if self.locked:
                result, problem = EfiStatus.WRITE_PROTECTED, "policy interface is locked"
            else:
                result, problem = self._register(buf, length)
        elif command == VarCheckPolicyCommand.DUMP:
            result, problem = self._dump(buf, length)
        elif command == VarCheckPolicyCommand.LOCK:
            self.locked = True
            result = EfiStatus.SUCCESS
        else:
            result, problem = EfiStatus.UNSUPPORTED, f"unsupported policy command {command}"
        buf[36:44] = int(result).to_bytes(8, "little")
        return DeviceStatus.SUCCESS, problem

    def _register(self, buf: bytearray, length: int) -> tuple[EfiStatus, str | None]:
        base = MM_HEADER_SIZE + MM_CHECK_POLICY_HEADER_SIZE
        if length < MM_CHECK_POLICY_HEADER_SIZE + POLICY_ENTRY_SIZE:
            return EfiStatus.BAD_BUFFER_SIZE, "no room for a VARIABLE_POLICY_ENTRY"
        size = int.from_bytes(buf[base + 4 : base + 6], "little")
        offset_to_name = int.from_bytes(buf[base + 6 : base + 8], "little")
        lock_type = buf[base + 40]
        if MM_CHECK_POLICY_HEADER_SIZE + size > length:
            return EfiStatus.BAD_BUFFER_SIZE, "entry Size exceeds MessageLength"
        if size < POLICY_ENTRY_SIZE:
            return EfiStatus.BAD_BUFFER_SIZE, "entry Size below 44"
        if offset_to_name < POLICY_ENTRY_SIZE:
            return EfiStatus.BAD_BUFFER_SIZE, "OffsetToName below 44"
        if (
            lock_type == PolicyLockType.LOCK_ON_VAR_STATE
            and offset_to_name < POLICY_ENTRY_SIZE + LOCK_ON_VAR_STATE_SIZE
        ):
            return (
                EfiStatus.BAD_BUFFER_SIZE,
                "OffsetToName leaves no room for the lock-on-variable-state policy",
            )
        if size < offset_to_name:
            return EfiStatus.BAD_BUFFER_SIZE, "OffsetToName beyond Size"
        entry = bytes(buf[base : base + size])
        name = entry[offset_to_name:size]
        if not ucs2_valid(name, must_be_nul_terminated=False):
            return EfiStatus.INVALID_PARAMETER, "UTF-16 surrogate in the policy name"
        namespace = UUID(bytes_le=entry[8:24])
        if self._find_exact(namespace, name) is not None:
            return EfiStatus.ALREADY_STARTED, "a policy for this name exists"
        status = self.add(entry)
        if status != EfiStatus.SUCCESS:
            return status, "too many policies"
        return EfiStatus.SUCCESS, None

    def _dump(self, buf: bytearray, length: int) -> tuple[EfiStatus, str | None]:
        """edk2's paginated DUMP (intended difference 11)."""
        base = MM_HEADER_SIZE + MM_CHECK_POLICY_HEADER_SIZE
        if length < MM_CHECK_POLICY_HEADER_SIZE + DUMP_PARAMS_SIZE + DUMP_PAGE_SIZE:
            return EfiStatus.INVALID_PARAMETER, "DUMP needs a 16360-byte message"
        page = int.from_bytes(buf[base : base + 4], "little")
        if page == 0:
            table = b"".join(p.entry for p in self.host + self.registered)
            self._dump_cache = table or None
            self._put_dump_params(buf, len(table), 0, bool(table))
            return EfiStatus.SUCCESS, None
        if self._dump_cache is None:
            self._put_dump_params(buf, 0, 0, False)
            return EfiStatus.TIMEOUT, "no DUMP in progress (request page 0 first)"
        cache = self._dump_cache
        pages = (len(cache) + DUMP_PAGE_SIZE - 1) // DUMP_PAGE_SIZE
        if page > pages:
            # edk2 sets TotalSize and PageSize before it finds the page out of range
            self._put_dump_params(buf, len(cache), DUMP_PAGE_SIZE, None)
            return EfiStatus.INVALID_PARAMETER, f"page {page} beyond the last page {pages}"
        start = DUMP_PAGE_SIZE * (page - 1)
        page_size = DUMP_PAGE_SIZE if page != pages else len(cache) % DUMP_PAGE_SIZE
        out = base + DUMP_PARAMS_SIZE
        buf[out : out + page_size] = cache[start : start + page_size]
        last = page == pages
        self._put_dump_params(buf, len(cache), page_size, not last)
        if last:
            self._dump_cache = None
        return EfiStatus.SUCCESS, None

    @staticmethod
    def _put_dump_params(buf: bytearray, total: int, page_size: int, has_more: bool | None) -> None:
        base = MM_HEADER_SIZE + MM_CHECK_POLICY_HEADER_SIZE
        buf[base + 4 : base + 12] = struct.pack("<II", total, page_size)
        if has_more is not None:
            buf[base + 12] = 1 if has_more else 0
