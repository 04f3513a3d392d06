"""Variable policy entries (edk2 VARIABLE_POLICY_ENTRY), their matching rules, and policy-set files.

Wire layout (``MdeModulePkg/Include/Protocol/VariablePolicy.h``, packed, no alignment)::

    VARIABLE_POLICY_ENTRY                 44 bytes
      Version @0 (0x00010000)  Size @4 (u16)  OffsetToName @6 (u16)  Namespace @8 (GUID)
      MinSize @24  MaxSize @28  AttributesMustHave @32  AttributesCantHave @36
      LockPolicyType @40 (u8)  Padding[3] @41
    VARIABLE_LOCK_ON_VAR_STATE_POLICY     18 bytes, only between 44 and OffsetToName
      Namespace @0 (GUID)  Value @16 (u8)  Padding @17 (u8)  then the NUL-terminated state name
    Name                                  CHAR16, NUL-terminated, from OffsetToName to Size;
                                          absent (Size == OffsetToName) for a namespace-wide policy

:func:`decode_policy_entry` accepts every entry whose *layout* is sound (sizes inside the
buffer, NUL-terminated names ending exactly where the offsets say) and keeps every byte, so
``encode()`` reproduces it; :meth:`VariablePolicyEntry.validate` then lists what edk2's
``IsValidVariablePolicyStructure`` would still refuse (version, MaxSize 0, lock type, ...).

Policy-set file
---------------
A documented container for a set of entries (also described in ``docs/policy-set-format.md``),
all integers little-endian::

    offset 0   8 bytes  magic  b"UVPOLSET"
    offset 8   u32      format version, 1
    offset 12  u32      number of entries N
    offset 16           N VARIABLE_POLICY_ENTRY records back to back, each exactly its own
                        Size bytes (the layout above, as DUMP returns them); nothing follows

:func:`encode_policy_set` / :func:`decode_policy_set` convert it (bytes only; saving files
atomically is the caller's job). :func:`to_json` / :func:`from_json` give the same set as
JSON for people (``{"format": "uefivars-policy-set", "version": 1, "policies": [...]}``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from enum import IntEnum
from uuid import UUID

from ..errors import DecodeError, EncodeError
from .attributes import format_attributes, parse_attributes
from .fields import Field
from .guid import guid_label, parse_guid
from .record import value
from .ucs2 import decode_ucs2, encode_ucs2

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and json are imported only when needed: start-up time
    from typing import Any

VARIABLE_POLICY_ENTRY_REVISION = 0x00010000
POLICY_ENTRY_HEADER_SIZE = 44
LOCK_ON_VAR_STATE_HEADER_SIZE = 18
VARIABLE_POLICY_NO_MIN_SIZE = 0
VARIABLE_POLICY_NO_MAX_SIZE = 0xFFFFFFFF
VARIABLE_POLICY_NO_MUST_ATTR = 0
VARIABLE_POLICY_NO_CANT_ATTR = 0
MAX_POLICY_ENTRY_SIZE = 0xFFFF
#: Priorities of EvaluatePolicyMatch: lower wins.
MATCH_PRIORITY_EXACT = 0
MATCH_PRIORITY_MIN = 255
MAX_WILDCARDS = 255

POLICY_SET_MAGIC = b"UVPOLSET"
POLICY_SET_VERSION = 1
POLICY_SET_HEADER_SIZE = 16
JSON_FORMAT_NAME = "uefivars-policy-set"

_HEADER = struct.Struct("<IHH16sIIIIB3s")
_VAR_STATE = struct.Struct("<16sBB")
_SET_HEADER = struct.Struct("<8sII")
_HEX_UNITS = frozenset(map(ord, "0123456789ABCDEFabcdef"))
_WILDCARD = ord("#")
_U32_MAX = 0xFFFFFFFF


class LockPolicyType(IntEnum):
    """VARIABLE_POLICY_TYPE_*."""

    NO_LOCK = 0
    LOCK_NOW = 1
    LOCK_ON_CREATE = 2
    LOCK_ON_VAR_STATE = 3


def _lock_type(value: int) -> int:
    try:
        return LockPolicyType(value)
    except ValueError:
        return value


def lock_type_name(value: int) -> str:
    try:
        return LockPolicyType(value).name
    except ValueError:
        return f"unknown ({value})"


@value
class LockOnVarState:
    """VARIABLE_LOCK_ON_VAR_STATE_POLICY: lock while variable ``name`` in ``namespace`` == ``value``."""

    namespace: UUID
    value: int
    name: str
    padding: int = 0


@value
class VariablePolicyEntry:
    """One VARIABLE_POLICY_ENTRY. ``name`` None means the policy covers the whole namespace."""

    namespace: UUID
    name: str | None = None
    min_size: int = VARIABLE_POLICY_NO_MIN_SIZE
    max_size: int = VARIABLE_POLICY_NO_MAX_SIZE
    attributes_must_have: int = VARIABLE_POLICY_NO_MUST_ATTR
    attributes_cant_have: int = VARIABLE_POLICY_NO_CANT_ATTR
    #: A :class:`LockPolicyType` for the defined values; other values stay plain ints.
    lock_policy_type: int = LockPolicyType.NO_LOCK
    lock_on_var_state: LockOnVarState | None = None
    version: int = VARIABLE_POLICY_ENTRY_REVISION
    padding: bytes = b"\0\0\0"

    # --- layout ---

    @property
    def offset_to_name(self) -> int:
        if self.lock_on_var_state is None:
            return POLICY_ENTRY_HEADER_SIZE
        return (
            POLICY_ENTRY_HEADER_SIZE + LOCK_ON_VAR_STATE_HEADER_SIZE + _name_size(self.lock_on_var_state.name)
        )

    @property
    def size(self) -> int:
        return self.offset_to_name + (0 if self.name is None else _name_size(self.name))

    @property
    def wildcard_count(self) -> int:
        return 0 if self.name is None else self.name.count("#")

    def encode(self) -> bytes:
        """The packed entry; byte-identical to the input for anything :func:`decode_policy_entry` returned."""
        lock = b""
        state = self.lock_on_var_state
        if state is not None:
            try:
                lock = _VAR_STATE.pack(state.namespace.bytes_le, state.value, state.padding)
            except struct.error as exc:
                raise EncodeError(f"lock-on-var-state value/padding out of range: {exc}") from exc
            lock += _encode_name(state.name, "lock-on-var-state name")
        name = b"" if self.name is None else _encode_name(self.name, "policy name")
        offset_to_name = POLICY_ENTRY_HEADER_SIZE + len(lock)
        size = offset_to_name + len(name)
        if size > MAX_POLICY_ENTRY_SIZE:
            raise EncodeError(f"policy entry of {size} bytes exceeds the 16-bit Size field")
        if len(self.padding) != 3:
            raise EncodeError("policy padding must be 3 bytes")
        try:
            head = _HEADER.pack(
                self.version,
                size,
                offset_to_name,
                self.namespace.bytes_le,
                self.min_size,
                self.max_size,
                self.attributes_must_have,
                self.attributes_cant_have,
                int(self.lock_policy_type),
                bytes(self.padding),
            )
        except struct.error as exc:
            raise EncodeError(f"policy field out of range: {exc}") from exc
        return head + lock + name

    # --- meaning ---

    def validate(self) -> list[str]:
        """What edk2's IsValidVariablePolicyStructure refuses (empty list = acceptable)."""
        problems: list[str] = []
        if self.version != VARIABLE_POLICY_ENTRY_REVISION:
            problems.append(f"Version 0x{self.version:x} is not 0x{VARIABLE_POLICY_ENTRY_REVISION:x}")
        if self.max_size == 0:
            problems.append("MaxSize is 0 (use 0xFFFFFFFF for no maximum)")
        if self.lock_policy_type not in LockPolicyType._value2member_map_:
            problems.append(f"LockPolicyType {self.lock_policy_type} is not 0..3")
        if self.lock_policy_type == LockPolicyType.LOCK_ON_VAR_STATE and self.lock_on_var_state is None:
            problems.append("LOCK_ON_VAR_STATE without a VARIABLE_LOCK_ON_VAR_STATE_POLICY")
        if self.lock_policy_type != LockPolicyType.LOCK_ON_VAR_STATE and self.lock_on_var_state is not None:
            problems.append(
                "a VARIABLE_LOCK_ON_VAR_STATE_POLICY is present but the lock type is "
                f"{lock_type_name(self.lock_policy_type)} (OffsetToName must be 44)"
            )
        if self.wildcard_count > MAX_WILDCARDS:
            problems.append(f"the name has {self.wildcard_count} '#' wildcards (at most {MAX_WILDCARDS})")
        for label, text in (
            ("name", self.name),
            ("lock-on-var-state name", self.lock_on_var_state.name if self.lock_on_var_state else None),
        ):
            if text is not None and "\0" in text:
                problems.append(f"the {label} contains a NUL character")
        if self.size > MAX_POLICY_ENTRY_SIZE:
            problems.append(f"Size {self.size} exceeds 0xFFFF")
        return problems

    def explain(self) -> str:
        """One plain-English sentence of what the entry does."""
        subject = _subject(self.namespace, self.name)
        kind = self.lock_policy_type
        state = self.lock_on_var_state
        if kind == LockPolicyType.NO_LOCK:
            head = f"Does not lock {subject} (NO_LOCK)"
        elif kind == LockPolicyType.LOCK_NOW:
            head = f"Locks {subject} now (LOCK_NOW)"
        elif kind == LockPolicyType.LOCK_ON_CREATE:
            head = f"Locks {subject} once it exists (LOCK_ON_CREATE)"
        elif kind == LockPolicyType.LOCK_ON_VAR_STATE and state is not None:
            head = (
                f"Locks {subject} while {state.name} in {guid_label(state.namespace)} "
                f"is 0x{state.value:02x} (LOCK_ON_VAR_STATE)"
            )
        elif kind == LockPolicyType.LOCK_ON_VAR_STATE:
            head = f"Would lock {subject} on a variable state but names no state variable (LOCK_ON_VAR_STATE)"
        else:
            head = f"Has the unknown lock type {kind} for {subject}"
        parts = [head]
        if self.min_size != VARIABLE_POLICY_NO_MIN_SIZE or self.max_size != VARIABLE_POLICY_NO_MAX_SIZE:
            top = "max" if self.max_size == VARIABLE_POLICY_NO_MAX_SIZE else str(self.max_size)
            parts.append(f"size {self.min_size}..{top}")
        if self.attributes_must_have:
            parts.append(f"must have {format_attributes(self.attributes_must_have)}")
        if self.attributes_cant_have:
            cant = self.attributes_cant_have
            if cant.bit_count() > 16:
                allowed = ~cant & _U32_MAX
                parts.append(
                    f"may have only {format_attributes(allowed)}" if allowed else "may have no attribute"
                )
            else:
                parts.append(f"can't have {format_attributes(cant)}")
        return "; ".join(parts)

    def fields(self) -> Field:
        """Decoded-field tree with byte spans relative to the start of ``encode()``."""
        problems = self.validate()

        def warn(*needles: str) -> str | None:
            hits = [p for p in problems if any(n in p for n in needles)]
            return "; ".join(hits) if hits else None

        ns = self.namespace
        children = [
            Field("Version", 0, 4, f"0x{self.version:08x}", warning=warn("Version")),
            Field("Size", 4, 2, str(self.size), warning=warn("Size ")),
            Field("OffsetToName", 6, 2, str(self.offset_to_name)),
            Field("Namespace", 8, 16, f"{guid_label(ns)} ({ns})" if guid_label(ns) != str(ns) else str(ns)),
            Field("MinSize", 24, 4, str(self.min_size)),
            Field(
                "MaxSize",
                28,
                4,
                "no maximum" if self.max_size == VARIABLE_POLICY_NO_MAX_SIZE else str(self.max_size),
                warning=warn("MaxSize"),
            ),
            Field("AttributesMustHave", 32, 4, _attr_text(self.attributes_must_have)),
            Field("AttributesCantHave", 36, 4, _attr_text(self.attributes_cant_have)),
            Field(
                "LockPolicyType",
                40,
                1,
                lock_type_name(self.lock_policy_type),
                warning=warn("LockPolicyType", "LOCK_ON_VAR_STATE", "lock type"),
            ),
            Field("Padding", 41, 3, bytes(self.padding).hex()),
        ]
        state = self.lock_on_var_state
        if state is not None:
            base = POLICY_ENTRY_HEADER_SIZE
            name_len = _name_size(state.name)
            children.append(
                Field(
                    "LockOnVarState",
                    base,
                    LOCK_ON_VAR_STATE_HEADER_SIZE + name_len,
                    f"{state.name} in {guid_label(state.namespace)} == 0x{state.value:02x}",
                    (
                        Field("Namespace", base, 16, guid_label(state.namespace)),
                        Field("Value", base + 16, 1, f"0x{state.value:02x}"),
                        Field("Padding", base + 17, 1, f"0x{state.padding:02x}"),
                        Field("Name", base + 18, name_len, state.name),
                    ),
                )
            )
        if self.name is not None:
            children.append(
                Field(
                    "Name",
                    self.offset_to_name,
                    _name_size(self.name),
                    self.name,
                    warning=warn("wildcards", "the name contains"),
                )
            )
        return Field(
            "VARIABLE_POLICY_ENTRY",
            0,
            self.size,
            self.explain(),
            tuple(children),
            "; ".join(problems) if problems else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of one entry (see :func:`to_json`)."""
        out: dict[str, Any] = {
            "namespace": str(self.namespace),
            "name": self.name,
            "min_size": self.min_size,
            "max_size": self.max_size,
            "attributes_must_have": _attr_json(self.attributes_must_have),
            "attributes_cant_have": _attr_json(self.attributes_cant_have),
            "lock_policy_type": lock_type_name(self.lock_policy_type)
            if self.lock_policy_type in LockPolicyType._value2member_map_
            else int(self.lock_policy_type),
            "lock_on_var_state": None,
        }
        state = self.lock_on_var_state
        if state is not None:
            state_out: dict[str, Any] = {
                "namespace": str(state.namespace),
                "name": state.name,
                "value": state.value,
            }
            if state.padding:
                state_out["padding"] = state.padding
            out["lock_on_var_state"] = state_out
        if self.version != VARIABLE_POLICY_ENTRY_REVISION:
            out["version"] = self.version
        if self.padding != b"\0\0\0":
            out["padding"] = bytes(self.padding).hex()
        out["explain"] = self.explain()
        return out

    @classmethod
    def from_dict(cls, obj: object) -> VariablePolicyEntry:
        if not isinstance(obj, dict):
            raise DecodeError("a policy must be a JSON object", what="policy JSON")
        state_obj = obj.get("lock_on_var_state")
        state = None
        if state_obj is not None:
            if not isinstance(state_obj, dict):
                raise DecodeError("lock_on_var_state must be an object or null", what="policy JSON")
            state = LockOnVarState(
                _json_guid(state_obj, "namespace"),
                _json_int(state_obj, "value", None, 0xFF),
                _json_str(state_obj, "name"),
                _json_int(state_obj, "padding", 0, 0xFF),
            )
        name = obj.get("name")
        if name is not None and not isinstance(name, str):
            raise DecodeError("name must be a string or null", what="policy JSON")
        padding_text = obj.get("padding", "000000")
        try:
            padding = bytes.fromhex(padding_text) if isinstance(padding_text, str) else b""
        except ValueError:
            padding = b""
        if len(padding) != 3:
            raise DecodeError("padding must be 3 bytes of hex", what="policy JSON")
        max_size = obj.get("max_size", VARIABLE_POLICY_NO_MAX_SIZE)
        if max_size == "max":
            max_size = VARIABLE_POLICY_NO_MAX_SIZE
        return cls(
            namespace=_json_guid(obj, "namespace"),
            name=name,
            min_size=_json_int(obj, "min_size", 0, _U32_MAX),
            max_size=_json_int({"max_size": max_size}, "max_size", None, _U32_MAX),
            attributes_must_have=_json_attrs(obj, "attributes_must_have"),
            attributes_cant_have=_json_attrs(obj, "attributes_cant_have"),
            lock_policy_type=_json_lock_type(obj.get("lock_policy_type", 0)),
            lock_on_var_state=state,
            version=_json_int(obj, "version", VARIABLE_POLICY_ENTRY_REVISION, _U32_MAX),
            padding=padding,
        )


def _name_size(text: str) -> int:
    return len(encode_ucs2(text))


def _encode_name(text: str, what: str) -> bytes:
    if "\0" in text:
        raise EncodeError(f"the {what} contains a NUL character")
    return encode_ucs2(text)


def _subject(namespace: UUID, name: str | None) -> str:
    ns = guid_label(namespace)
    if name is None:
        return f"every variable in {ns}"
    if "#" in name:
        return f"every variable named {name} in {ns}"
    return f"{name} in {ns}"


def _attr_text(value: int) -> str:
    return f"0x{value:08x} ({format_attributes(value)})" if value else "0 (none)"


def _attr_json(value: int) -> str:
    if value and not value & ~0xFF:
        return format_attributes(value)
    return f"0x{value:x}"


# --- decoding ---------------------------------------------------------------------------


def decode_policy_entry(data: bytes, offset: int = 0) -> tuple[VariablePolicyEntry, int]:
    """Decode the entry at ``offset``; returns it and its Size (bytes consumed)."""
    available = len(data) - offset
    if available < POLICY_ENTRY_HEADER_SIZE:
        raise DecodeError(
            f"truncated VARIABLE_POLICY_ENTRY ({max(available, 0)} of 44 bytes)", offset, what="policy entry"
        )
    version, size, offset_to_name, raw_ns, min_size, max_size, must, cant, lock, padding = (
        _HEADER.unpack_from(data, offset)
    )
    if size < POLICY_ENTRY_HEADER_SIZE:
        raise DecodeError(f"Size {size} is smaller than the 44-byte header", offset + 4, what="policy entry")
    if size > available:
        raise DecodeError(
            f"Size {size} runs past the end of the data ({available} bytes left)",
            offset + 4,
            what="policy entry",
        )
    if not POLICY_ENTRY_HEADER_SIZE <= offset_to_name <= size:
        raise DecodeError(
            f"OffsetToName {offset_to_name} is outside 44..Size ({size})", offset + 6, what="policy entry"
        )
    state = None
    if offset_to_name > POLICY_ENTRY_HEADER_SIZE:
        start = offset + POLICY_ENTRY_HEADER_SIZE
        region = bytes(data[start : offset + offset_to_name])
        if len(region) < LOCK_ON_VAR_STATE_HEADER_SIZE + 2:
            raise DecodeError(
                f"{len(region)} bytes between the header and the name cannot hold a "
                "VARIABLE_LOCK_ON_VAR_STATE_POLICY with a name",
                start,
                what="policy entry",
            )
        raw_state_ns, value, state_pad = _VAR_STATE.unpack_from(region)
        state_name = decode_ucs2(
            region[LOCK_ON_VAR_STATE_HEADER_SIZE:],
            start + LOCK_ON_VAR_STATE_HEADER_SIZE,
            what="lock-on-var-state name",
        )
        state = LockOnVarState(UUID(bytes_le=bytes(raw_state_ns)), value, state_name, state_pad)
    name = None
    if size > offset_to_name:
        name = decode_ucs2(
            bytes(data[offset + offset_to_name : offset + size]), offset + offset_to_name, what="policy name"
        )
    entry = VariablePolicyEntry(
        namespace=UUID(bytes_le=bytes(raw_ns)),
        name=name,
        min_size=min_size,
        max_size=max_size,
        attributes_must_have=must,
        attributes_cant_have=cant,
        lock_policy_type=_lock_type(lock),
        lock_on_var_state=state,
        version=version,
        padding=bytes(padding),
    )
    return entry, size


def decode_policy_table(data: bytes) -> tuple[VariablePolicyEntry, ...]:
    """Entries back to back covering ``data`` exactly (the DUMP format)."""
    buf = bytes(data)
    entries: list[VariablePolicyEntry] = []
    pos = 0
    while pos < len(buf):
        entry, size = decode_policy_entry(buf, pos)
        entries.append(entry)
        pos += size
    return tuple(entries)


def encode_policy_table(entries: Iterable[VariablePolicyEntry]) -> bytes:
    return b"".join(e.encode() for e in entries)


# --- matching ---------------------------------------------------------------------------


def _units(text: str) -> tuple[int, ...]:
    raw = text.encode("utf-16-le", "surrogatepass")
    return struct.unpack(f"<{len(raw) // 2}H", raw)


def match_priority(entry: VariablePolicyEntry, guid: UUID, name: str) -> int | None:
    """edk2 EvaluatePolicyMatch: None if ``entry`` does not apply, else its priority (lower wins).

    The namespace must be equal; a namespace-wide entry matches with 255; a named entry must
    have the same length and match case-sensitively, each ``#`` matching one hex digit (either
    case) and adding 1 to the priority (at most 255). 0 is an exact match.
    """
    if entry.namespace != guid:
        return None
    if entry.name is None:
        return MATCH_PRIORITY_MIN
    pattern = _units(entry.name)
    target = _units(name)
    if len(pattern) != len(target):
        return None
    priority = MATCH_PRIORITY_EXACT
    for want, have in zip(pattern, target, strict=True):
        if want == _WILDCARD:
            if have not in _HEX_UNITS:
                return None
            priority = min(priority + 1, MATCH_PRIORITY_MIN)
        elif want != have:
            return None
    return priority


@value
class PolicyMatch:
    index: int
    entry: VariablePolicyEntry
    priority: int


def best_match(entries: Sequence[VariablePolicyEntry], guid: UUID, name: str) -> PolicyMatch | None:
    """edk2 GetBestPolicyMatch: the lowest priority wins, the first registered on a tie."""
    best: PolicyMatch | None = None
    for index, entry in enumerate(entries):
        priority = match_priority(entry, guid, name)
        if priority is None:
            continue
        if best is None or priority < best.priority:
            best = PolicyMatch(index, entry, priority)
            if priority == MATCH_PRIORITY_EXACT:
                break
    return best


# --- policy-set files -------------------------------------------------------------------


def is_policy_set(data: bytes) -> bool:
    """Cheap probe: does ``data`` start with the policy-set magic?"""
    return bytes(data[: len(POLICY_SET_MAGIC)]) == POLICY_SET_MAGIC


def encode_policy_set(entries: Iterable[VariablePolicyEntry]) -> bytes:
    items = tuple(entries)
    return _SET_HEADER.pack(POLICY_SET_MAGIC, POLICY_SET_VERSION, len(items)) + encode_policy_table(items)


def decode_policy_set(data: bytes) -> tuple[VariablePolicyEntry, ...]:
    buf = bytes(data)
    if len(buf) < POLICY_SET_HEADER_SIZE:
        raise DecodeError(f"truncated policy-set header ({len(buf)} of 16 bytes)", 0, what="policy set")
    magic, version, count = _SET_HEADER.unpack_from(buf)
    if magic != POLICY_SET_MAGIC:
        raise DecodeError("not a policy-set file (bad magic)", 0, what="policy set")
    if version != POLICY_SET_VERSION:
        raise DecodeError(f"unsupported policy-set version {version}", 8, what="policy set")
    entries: list[VariablePolicyEntry] = []
    pos = POLICY_SET_HEADER_SIZE
    for _ in range(count):
        if pos >= len(buf):
            raise DecodeError(
                f"the header announces {count} entries but the data holds {len(entries)}",
                pos,
                what="policy set",
            )
        entry, size = decode_policy_entry(buf, pos)
        entries.append(entry)
        pos += size
    if pos != len(buf):
        raise DecodeError(f"{len(buf) - pos} bytes follow the last entry", pos, what="policy set")
    return tuple(entries)


def to_json(entries: Iterable[VariablePolicyEntry]) -> str:
    """The policy set as indented JSON; ``explain`` members are informative and ignored on input."""
    doc = {
        "format": JSON_FORMAT_NAME,
        "version": POLICY_SET_VERSION,
        "policies": [e.to_dict() for e in entries],
    }
    import json

    return json.dumps(doc, indent=2) + "\n"


def from_json(text: str | bytes) -> tuple[VariablePolicyEntry, ...]:
    """Parse :func:`to_json` output (a bare list of policy objects is accepted too)."""
    import json

    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"not JSON: {exc}", what="policy JSON") from exc
    if isinstance(doc, dict):
        if doc.get("format", JSON_FORMAT_NAME) != JSON_FORMAT_NAME:
            raise DecodeError(
                f"format is {doc.get('format')!r}, expected {JSON_FORMAT_NAME!r}", what="policy JSON"
            )
        if doc.get("version", POLICY_SET_VERSION) != POLICY_SET_VERSION:
            raise DecodeError(f"unsupported version {doc.get('version')!r}", what="policy JSON")
        doc = doc.get("policies")
    if not isinstance(doc, list):
        raise DecodeError("expected a list of policies", what="policy JSON")
    return tuple(VariablePolicyEntry.from_dict(item) for item in doc)


def _json_int(obj: dict[str, Any], key: str, default: int | None, maximum: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            value = None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise DecodeError(f"{key} must be an integer 0..{maximum}", what="policy JSON")
    return value


def _json_str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise DecodeError(f"{key} must be a string", what="policy JSON")
    return value


def _json_guid(obj: dict[str, Any], key: str) -> UUID:
    return parse_guid(_json_str(obj, key))


def _json_attrs(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if isinstance(value, bool):
        raise DecodeError(f"{key} must be attribute names or a number", what="policy JSON")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str):
        result = int(parse_attributes(value))
    else:
        raise DecodeError(f"{key} must be attribute names or a number", what="policy JSON")
    if not 0 <= result <= _U32_MAX:
        raise DecodeError(f"{key} does not fit in 32 bits", what="policy JSON")
    return result


def _json_lock_type(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFF:
        return _lock_type(value)
    if isinstance(value, str):
        key = value.strip().upper().removeprefix("VARIABLE_POLICY_TYPE_")
        if key in LockPolicyType.__members__:
            return LockPolicyType[key]
    raise DecodeError(f"unknown lock_policy_type {value!r}", what="policy JSON")
