from __future__ import annotations

import contextlib
import json
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.codec import qemu_json
from uefivars_gui.codec.base import StoreFormat
from uefivars_gui.core.attributes import AT, NV_BS_RT, NV_BS_RT_AT, Attributes
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.errors import DecodeError, EncodeError

DATA = Path(__file__).resolve().parent.parent / "data"
REAL_JSON = sorted((DATA / "ovmf").glob("*.json")) + sorted((DATA / "qemu").glob("*.json"))


def test_samples_present() -> None:
    assert len(REAL_JSON) == 3


@pytest.mark.parametrize("path", REAL_JSON, ids=lambda p: p.name)
def test_real_samples_round_trip_byte_identical(path: Path) -> None:
    raw = path.read_bytes()
    doc = qemu_json.decode(raw)
    assert doc.format is StoreFormat.JSON
    assert isinstance(doc.origin, qemu_json.JsonOrigin)
    # Through the detected style, not the unchanged-store shortcut:
    assert qemu_json.encode(doc.store, style=doc.origin.style) == raw
    assert qemu_json.encode(doc.store, doc.origin) == raw


def test_qemu_rewritten_sample_is_qemu_style() -> None:
    raw = (DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json").read_bytes()
    doc = qemu_json.decode(raw)
    assert qemu_json.encode(doc.store) == raw  # default style is QEMU's own
    assert not raw.endswith(b"\n")


def test_virt_fw_vars_sample_written_as_qemu_would() -> None:
    raw = (DATA / "ovmf" / "OVMF_VARS_4M.ms.virt-fw-vars-26.10.json").read_bytes()
    store = qemu_json.decode(raw).store
    qemu_text = qemu_json.encode(store).decode()
    parsed = json.loads(qemu_text)
    first = parsed["variables"][0]
    assert list(first) == ["name", "guid", "attr", "time", "data"]  # certdb is AT: QEMU writes a zero time
    assert first["time"] == "0" * 32
    pk = next(v for v in parsed["variables"] if v["name"] == "PK")
    assert list(pk) == ["name", "guid", "attr", "time", "data"]


def test_member_order_and_digest_position() -> None:
    var = Variable("MyAuth", UUID(int=5), NV_BS_RT_AT, b"\x01", EfiTime(2024, 1, 2, 3, 4, 5), b"\xab" * 32)
    text = qemu_json.encode(VarStore([var])).decode()
    members = list(json.loads(text)["variables"][0])
    assert members == ["name", "digest", "guid", "attr", "time", "data"]
    assert '"attr": 39' in text and text.count("\n") == 12


def test_empty_store_matches_qemu_printer() -> None:
    assert qemu_json.encode(VarStore()) == b'{\n    "version": 2,\n    "variables": [\n    ]\n}'


def test_append_bit_stripped_and_hex_lowercase() -> None:
    var = Variable("X", EFI_GLOBAL_VARIABLE, NV_BS_RT | Attributes.APPEND_WRITE, b"\xab\xcd")
    parsed = json.loads(qemu_json.encode(VarStore([var])))
    assert parsed["variables"][0]["attr"] == 7
    assert parsed["variables"][0]["data"] == "abcd"


def test_non_ascii_name_is_refused() -> None:
    var = Variable("Grüße", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"")
    with pytest.raises(EncodeError, match="non-ASCII"):
        qemu_json.encode(VarStore([var]))


def test_python_uefivars_forms() -> None:
    v1 = json.dumps([{"name": "A", "data": "01", "guid": str(EFI_GLOBAL_VARIABLE), "attr": 7,
                      "timestamp": "00" * 16}], indent=4).encode()
    doc = qemu_json.decode(v1)
    var = doc.store.resolve("A")
    assert var.timestamp == EfiTime() and var.data == b"\x01"
    assert qemu_json.encode(doc.store, doc.origin) == v1
    assert qemu_json.encode(doc.store, style=doc.origin.style) == v1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (b"", "invalid JSON"),
        (b"{", "invalid JSON"),
        (b'{"version": 2}', "no \"variables\""),
        (b'{"variables": 3}', "must be a list"),
        (b'{"variables": [{"name": "A"}]}', "variables[0].guid"),
        (b'{"variables": [{"name": "A", "guid": "nope", "attr": 7, "data": ""}]}', "not a GUID"),
        (b'{"variables": [{"name": "A", "guid": "8be4df61-93ca-11d2-aa0d-00e098032b8c", "attr": -1, "data": ""}]}', "attr"),
        (b'{"variables": [{"name": "A", "guid": "8be4df61-93ca-11d2-aa0d-00e098032b8c", "attr": 7, "data": "xyz"}]}', "hex"),
        (b'{"variables": [{"name": "A", "guid": "8be4df61-93ca-11d2-aa0d-00e098032b8c", "attr": 39, "data": "", "time": "00"}]}', "32 hex"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 100000, "nested"),
    ],
)
def test_bad_input_gives_clear_errors(text: bytes, fragment: str) -> None:
    with pytest.raises(DecodeError) as info:
        qemu_json.decode(text)
    assert fragment in str(info.value)


def test_syntax_error_carries_offset() -> None:
    with pytest.raises(DecodeError) as info:
        qemu_json.decode(b'{"variables": [}')
    assert info.value.offset == 15


def test_duplicate_variable_refused() -> None:
    entry = {"name": "A", "guid": str(EFI_GLOBAL_VARIABLE), "attr": 7, "data": ""}
    with pytest.raises(DecodeError, match="twice"):
        qemu_json.decode(json.dumps({"version": 2, "variables": [entry, entry]}).encode())


def test_same_name_in_two_namespaces_kept_apart() -> None:
    a = Variable("Same", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"\x01")
    b = Variable("Same", UUID(int=1), NV_BS_RT, b"\x02")
    store = qemu_json.decode(qemu_json.encode(VarStore([a, b]))).store
    assert len(store) == 2 and store.get(UUID(int=1), "Same") == b


names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20)
variables = st.builds(
    lambda name, guid, attr, data, ts: Variable(name, guid, Attributes(attr), data,
                                                 (ts if attr & AT else None)),
    names,
    st.uuids(),
    st.integers(0, 0xFFFFFFFF).map(lambda a: a & ~0x40),
    st.binary(max_size=64),
    st.builds(EfiTime, st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(variables, max_size=8, unique_by=lambda v: v.key))
def test_round_trip_property(vars_: list[Variable]) -> None:
    store = VarStore(vars_)
    assert qemu_json.decode(qemu_json.encode(store)).store == store


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):  # any other exception fails the test
        qemu_json.decode(data)


def test_probe() -> None:
    assert qemu_json.probe(REAL_JSON[0].read_bytes())
    assert qemu_json.probe(b"[]")
    assert not qemu_json.probe(b"\x00" * 100)
