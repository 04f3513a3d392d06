"""Variable policy entries: edk2 layouts, validation, matching, policy-set files and JSON."""

from __future__ import annotations

import contextlib
import json
import struct
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import BS, NV, NV_BS_RT
from uefivars_gui.core.policy import (
    POLICY_SET_MAGIC,
    VARIABLE_POLICY_NO_MAX_SIZE,
    LockOnVarState,
    LockPolicyType,
    VariablePolicyEntry,
    best_match,
    decode_policy_entry,
    decode_policy_set,
    decode_policy_table,
    encode_policy_set,
    encode_policy_table,
    from_json,
    is_policy_set,
    match_priority,
    to_json,
)
from uefivars_gui.errors import DecodeError, EncodeError

GLOBAL = g.EFI_GLOBAL_VARIABLE
OTHER = UUID("12345678-1234-5678-9abc-def012345678")


def ucs2z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\0\0"


def header(
    size: int, offset_to_name: int, ns: UUID, min_size: int, max_size: int, must: int, cant: int, lock: int
) -> bytes:
    return struct.pack(
        "<IHH16sIIIIB3x", 0x10000, size, offset_to_name, ns.bytes_le, min_size, max_size, must, cant, lock
    )


# The patterns edk2 builds (VariablePolicyHelperLib / OVMF boot, edk2-variables.md §2.1, §2.9)
BASIC = VariablePolicyEntry(GLOBAL, "PlatformLangCodes", lock_policy_type=LockPolicyType.LOCK_NOW)
NAMESPACE_WIDE = VariablePolicyEntry(
    OTHER, None, min_size=1, max_size=16, lock_policy_type=LockPolicyType.NO_LOCK
)
WILDCARD = VariablePolicyEntry(
    GLOBAL,
    "Boot####",
    min_size=6,
    attributes_must_have=int(NV_BS_RT),
    lock_policy_type=LockPolicyType.LOCK_ON_CREATE,
)
VAR_STATE = VariablePolicyEntry(
    OTHER,
    "Config",
    lock_policy_type=LockPolicyType.LOCK_ON_VAR_STATE,
    lock_on_var_state=LockOnVarState(g.CUSTOM_MODE_ENABLE, 1, "LockState"),
)
HDDP = VariablePolicyEntry(
    g.HDDP, "HDDP", min_size=4, attributes_must_have=int(BS | NV), attributes_cant_have=0xFFFFFFFC
)
PATTERNS = [BASIC, NAMESPACE_WIDE, WILDCARD, VAR_STATE, HDDP]


def test_basic_entry_layout() -> None:
    name = ucs2z("PlatformLangCodes")
    expected = header(44 + len(name), 44, GLOBAL, 0, 0xFFFFFFFF, 0, 0, 1) + name
    assert BASIC.encode() == expected
    assert BASIC.size == 44 + 36 and BASIC.offset_to_name == 44


def test_namespace_wide_entry_layout() -> None:
    assert NAMESPACE_WIDE.encode() == header(44, 44, OTHER, 1, 16, 0, 0, 0)
    entry, size = decode_policy_entry(NAMESPACE_WIDE.encode())
    assert entry.name is None and size == 44


def test_var_state_entry_layout() -> None:
    state_name, name = ucs2z("LockState"), ucs2z("Config")
    offset_to_name = 44 + 18 + len(state_name)
    expected = (
        header(offset_to_name + len(name), offset_to_name, OTHER, 0, 0xFFFFFFFF, 0, 0, 3)
        + g.CUSTOM_MODE_ENABLE.bytes_le
        + b"\x01\x00"
        + state_name
        + name
    )
    assert VAR_STATE.encode() == expected
    assert expected[60] == 1 and expected[62:64] == b"L\0"


@pytest.mark.parametrize("entry", PATTERNS)
def test_patterns_round_trip_and_validate(entry: VariablePolicyEntry) -> None:
    data = entry.encode()
    decoded, size = decode_policy_entry(b"junk" + data + b"tail", 4)
    assert decoded == entry and size == len(data) == entry.size
    assert decoded.encode() == data
    assert entry.validate() == []
    root = entry.fields()
    assert (root.offset, root.length) == (0, len(data)) and root.warning is None
    for field in root.walk():
        assert field.end <= len(data)


def test_fields_spans() -> None:
    root = VAR_STATE.fields()
    state = root.find("LockOnVarState")
    assert state is not None and (state.offset, state.length) == (44, 18 + 20)
    value = state.find("Value")
    assert value is not None and (value.offset, value.text) == (60, "0x01")
    names = [f for f in root.walk() if f.name == "Name"]
    assert [(f.offset, f.text) for f in names] == [(62, "LockState"), (82, "Config")]
    lock = root.find("LockPolicyType")
    assert lock is not None and lock.text == "LOCK_ON_VAR_STATE" and lock.offset == 40


def test_explain() -> None:
    assert WILDCARD.explain() == (
        "Locks every variable named Boot#### in EfiGlobalVariable once it exists (LOCK_ON_CREATE); "
        "size 6..max; must have NV|BS|RT"
    )
    assert BASIC.explain() == "Locks PlatformLangCodes in EfiGlobalVariable now (LOCK_NOW)"
    assert NAMESPACE_WIDE.explain() == f"Does not lock every variable in {OTHER} (NO_LOCK); size 1..16"
    assert VAR_STATE.explain().startswith(
        f"Locks Config in {OTHER} while LockState in CustomModeEnable is 0x01 (LOCK_ON_VAR_STATE)"
    )
    assert (
        HDDP.explain()
        == "Does not lock HDDP in Hddp (NO_LOCK); size 4..max; must have NV|BS; may have only NV|BS"
    )


def test_validate_problems() -> None:
    bad = VariablePolicyEntry(GLOBAL, "#" * 256, max_size=0, lock_policy_type=7, version=2)
    problems = bad.validate()
    assert len(problems) == 4
    assert any("Version" in p for p in problems)
    assert any("MaxSize is 0" in p for p in problems)
    assert any("LockPolicyType 7" in p for p in problems)
    assert any("256 '#'" in p for p in problems)
    no_state = VariablePolicyEntry(GLOBAL, "X", lock_policy_type=LockPolicyType.LOCK_ON_VAR_STATE)
    assert no_state.validate() == ["LOCK_ON_VAR_STATE without a VARIABLE_LOCK_ON_VAR_STATE_POLICY"]
    stray_state = VariablePolicyEntry(
        GLOBAL,
        "X",
        lock_policy_type=LockPolicyType.LOCK_NOW,
        lock_on_var_state=LockOnVarState(GLOBAL, 0, "S"),
    )
    assert "OffsetToName must be 44" in stray_state.validate()[0]
    # both still encode and decode byte-identically, so a view can show what a guest sent
    for entry in (bad, no_state, stray_state):
        decoded, _ = decode_policy_entry(entry.encode())
        assert decoded == entry and decoded.fields().warning


def test_encode_errors() -> None:
    with pytest.raises(EncodeError):
        VariablePolicyEntry(GLOBAL, "x" * 40000).encode()
    with pytest.raises(EncodeError):
        VariablePolicyEntry(GLOBAL, "a\0b").encode()
    with pytest.raises(EncodeError):
        VariablePolicyEntry(GLOBAL, min_size=-1).encode()
    with pytest.raises(EncodeError):
        VariablePolicyEntry(GLOBAL, lock_on_var_state=LockOnVarState(GLOBAL, 256, "S")).encode()


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (BASIC.encode()[:43], 0),  # truncated header
        (header(40, 44, GLOBAL, 0, 1, 0, 0, 0), 4),  # Size < 44
        (header(50, 44, GLOBAL, 0, 1, 0, 0, 0) + b"\0\0", 4),  # runs past the end
        (header(44, 46, GLOBAL, 0, 1, 0, 0, 0), 6),  # OffsetToName > Size
        (header(47, 44, GLOBAL, 0, 1, 0, 0, 0) + b"A\0\0", 44),  # odd name
        (header(48, 44, GLOBAL, 0, 1, 0, 0, 0) + b"A\0B\0", 46),  # not NUL-terminated
        (header(48, 44, GLOBAL, 0, 1, 0, 0, 0) + b"\0\0B\0", 46),  # NUL inside
        (header(54, 54, GLOBAL, 0, 1, 0, 0, 3) + bytes(10), 44),  # var-state region too short
        (header(64, 64, GLOBAL, 0, 1, 0, 0, 3) + bytes(16) + b"\1\0S\0", 62),  # state name without NUL
    ],
)
def test_decode_errors_carry_offsets(data: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        decode_policy_entry(data)
    assert info.value.offset == offset


def test_table_round_trip() -> None:
    table = encode_policy_table(PATTERNS)
    assert decode_policy_table(table) == tuple(PATTERNS)
    assert decode_policy_table(b"") == ()


# --- matching (EvaluatePolicyMatch / GetBestPolicyMatch) ------------------------------------


def test_match_priority_rules() -> None:
    assert match_priority(BASIC, GLOBAL, "PlatformLangCodes") == 0
    assert match_priority(BASIC, OTHER, "PlatformLangCodes") is None
    assert match_priority(BASIC, GLOBAL, "platformlangcodes") is None  # case-sensitive
    assert match_priority(BASIC, GLOBAL, "PlatformLangCode") is None  # same length required
    assert match_priority(WILDCARD, GLOBAL, "Boot00aF") == 4  # '#' is any hex digit, either case
    assert match_priority(WILDCARD, GLOBAL, "Boot000G") is None
    assert match_priority(WILDCARD, GLOBAL, "Boot####") is None  # a literal '#' never matches
    assert match_priority(WILDCARD, GLOBAL, "Boot00001") is None
    assert match_priority(NAMESPACE_WIDE, OTHER, "anything") == 255
    assert match_priority(NAMESPACE_WIDE, GLOBAL, "anything") is None
    many = VariablePolicyEntry(GLOBAL, "#" * 300)
    assert match_priority(many, GLOBAL, "a" * 300) == 255  # capped
    assert match_priority(VariablePolicyEntry(GLOBAL, ""), GLOBAL, "") == 0


def test_best_match() -> None:
    wide = VariablePolicyEntry(GLOBAL, None)
    two = VariablePolicyEntry(GLOBAL, "Boot00##")
    exact = VariablePolicyEntry(GLOBAL, "Boot0001", lock_policy_type=LockPolicyType.LOCK_NOW)
    table = [wide, WILDCARD, two, exact]
    hit = best_match(table, GLOBAL, "Boot0001")
    assert hit is not None and (hit.index, hit.priority) == (3, 0)  # exact beats wildcards
    hit = best_match(table, GLOBAL, "Boot0002")
    assert hit is not None and (hit.index, hit.priority) == (2, 2)  # fewer wildcards win
    hit = best_match(table, GLOBAL, "Boot1002")
    assert hit is not None and (hit.index, hit.priority) == (1, 4)
    hit = best_match(table, GLOBAL, "Timeout")
    assert hit is not None and (hit.index, hit.priority) == (0, 255)  # namespace-wide
    assert best_match(table, OTHER, "Boot0001") is None
    twin = VariablePolicyEntry(GLOBAL, "Boot00##", min_size=9)
    hit = best_match([twin, two], GLOBAL, "Boot0003")
    assert hit is not None and hit.entry is twin  # on a tie the first registered wins
    assert best_match([], GLOBAL, "x") is None


# --- policy-set files and JSON ----------------------------------------------------------


def test_policy_set_round_trip_and_layout() -> None:
    data = encode_policy_set(PATTERNS)
    assert data[:8] == POLICY_SET_MAGIC and struct.unpack_from("<II", data, 8) == (1, len(PATTERNS))
    assert data[16:] == encode_policy_table(PATTERNS)
    assert is_policy_set(data) and not is_policy_set(b"UVPOL")
    assert decode_policy_set(data) == tuple(PATTERNS)
    assert decode_policy_set(encode_policy_set([])) == ()


@pytest.mark.parametrize(
    ("mangle", "offset"),
    [
        (lambda d: d[:10], 0),
        (lambda d: b"XVPOLSET" + d[8:], 0),
        (lambda d: d[:8] + struct.pack("<I", 2) + d[12:], 8),
        (lambda d: d[:12] + struct.pack("<I", 6) + d[16:], len(encode_policy_set(PATTERNS))),
        (lambda d: d + b"\0", len(encode_policy_set(PATTERNS))),
        (lambda d: d[:-1], None),
    ],
)
def test_policy_set_errors(mangle: object, offset: int | None) -> None:
    assert callable(mangle)
    with pytest.raises(DecodeError) as info:
        decode_policy_set(mangle(encode_policy_set(PATTERNS)))
    if offset is not None:
        assert info.value.offset == offset


def test_json_round_trip_and_readability() -> None:
    text = to_json(PATTERNS)
    doc = json.loads(text)
    assert doc["format"] == "uefivars-policy-set" and doc["version"] == 1
    wildcard = doc["policies"][2]
    assert wildcard["name"] == "Boot####" and wildcard["lock_policy_type"] == "LOCK_ON_CREATE"
    assert wildcard["attributes_must_have"] == "NV|BS|RT"
    assert doc["policies"][4]["attributes_cant_have"] == "0xfffffffc"
    assert doc["policies"][1]["name"] is None
    assert from_json(text) == tuple(PATTERNS)
    odd = VariablePolicyEntry(
        GLOBAL,
        "X",
        lock_policy_type=9,
        version=3,
        padding=b"\1\2\3",
        lock_on_var_state=LockOnVarState(GLOBAL, 2, "S", padding=7),
    )
    assert from_json(to_json([odd])) == (odd,)


def test_json_accepts_hand_written_forms() -> None:
    text = json.dumps(
        [
            {
                "namespace": "global",
                "name": "Boot####",
                "min_size": "6",
                "max_size": "max",
                "attributes_must_have": "NV,BS,RT",
                "lock_policy_type": "variable_policy_type_lock_on_create",
            }
        ]
    )
    assert from_json(text) == (WILDCARD,)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{}",
        '{"format": "other", "policies": []}',
        '{"version": 2, "policies": []}',
        "[1]",
        '[{"namespace": "nope"}]',
        '[{"namespace": "global", "min_size": -1}]',
        '[{"namespace": "global", "lock_policy_type": "LOCK_LATER"}]',
        '[{"namespace": "global", "attributes_must_have": "XX"}]',
        '[{"namespace": "global", "attributes_must_have": 4294967296}]',
        '[{"namespace": "global", "name": 5}]',
        '[{"namespace": "global", "padding": "00"}]',
        '[{"namespace": "global", "lock_on_var_state": {"namespace": "global", "name": "S"}}]',
        '[{"namespace": "global", "lock_on_var_state": []}]',
    ],
)
def test_json_errors(text: str) -> None:
    with pytest.raises(DecodeError):
        from_json(text)


# --- hypothesis --------------------------------------------------------------------------

names = st.text(st.characters(codec="utf-16", exclude_characters="\0"), max_size=12)
u32 = st.integers(0, 0xFFFFFFFF)
states = st.builds(LockOnVarState, st.uuids(), st.integers(0, 255), names, st.integers(0, 255))
entries = st.builds(
    VariablePolicyEntry,
    namespace=st.uuids(),
    name=st.one_of(st.none(), names, st.sampled_from(["Boot####", "Driver####", "#", ""])),
    min_size=u32,
    max_size=st.one_of(st.just(VARIABLE_POLICY_NO_MAX_SIZE), u32),
    attributes_must_have=u32,
    attributes_cant_have=u32,
    lock_policy_type=st.integers(0, 255),
    lock_on_var_state=st.one_of(st.none(), states),
    version=st.one_of(st.just(0x10000), u32),
    padding=st.binary(min_size=3, max_size=3),
)


@given(st.lists(entries, max_size=5))
@settings(max_examples=150, deadline=None)
def test_hypothesis_round_trips(items: list[VariablePolicyEntry]) -> None:
    normalized = [decode_policy_entry(e.encode())[0] for e in items]
    for entry, again in zip(items, normalized, strict=True):
        assert again == entry and again.encode() == entry.encode()
        again.validate()
        again.explain()
        again.fields()
    assert decode_policy_set(encode_policy_set(items)) == tuple(items)
    assert from_json(to_json(items)) == tuple(items)


@given(st.binary(max_size=160))
@settings(max_examples=300, deadline=None)
def test_hypothesis_random_bytes_only_raise_decode_error(data: bytes) -> None:
    for decode in (decode_policy_table, decode_policy_set):
        with contextlib.suppress(DecodeError):
            decode(data)
    with contextlib.suppress(DecodeError):
        decode_policy_set(POLICY_SET_MAGIC + struct.pack("<II", 1, 1) + data)
    try:
        entry, size = decode_policy_entry(data)
    except DecodeError:
        return
    assert entry.encode() == data[:size]


@given(
    st.one_of(
        st.text(max_size=60),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "namespace",
                            "name",
                            "min_size",
                            "max_size",
                            "lock_policy_type",
                            "policies",
                            "lock_on_var_state",
                            "value",
                            "padding",
                            "attributes_must_have",
                        ]
                    ),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ).map(json.dumps),
    )
)
@settings(max_examples=200, deadline=None)
def test_hypothesis_random_json_only_raises_decode_error(text: str) -> None:
    with contextlib.suppress(DecodeError):
        from_json(text)
