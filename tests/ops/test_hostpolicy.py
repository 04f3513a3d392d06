"""Host policies: an administrator's policy set registered ahead of the guest's policies."""

from __future__ import annotations

import struct
from pathlib import Path
from uuid import UUID

import pytest

from uefivars_gui.core.guid import END_OF_DXE_EVENT_GROUP, SMM_VARIABLE_PROTOCOL, VAR_CHECK_POLICY_MMI_HANDLER
from uefivars_gui.core.policy import (
    LockPolicyType,
    VariablePolicyEntry,
    encode_policy_set,
    to_json,
)
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import DeviceConfig, UefiVarsDevice
from uefivars_gui.device.mm import build_mm_buffer
from uefivars_gui.errors import DecodeError, UsageError
from uefivars_gui.ops.hostpolicy import (
    install_host_policies,
    load_host_policies,
    parse_host_policies,
)

VENDOR = UUID("11111111-2222-3333-4444-555555555555")
NV_BS_RT = 0x07
EFI_SUCCESS = 0
EFI_INVALID_PARAMETER = 0x8000000000000002
EFI_WRITE_PROTECTED = 0x8000000000000008
EFI_ALREADY_STARTED = 0x8000000000000014

HOST_JSON = """{
  "format": "uefivars-policy-set",
  "version": 1,
  "policies": [
    {"namespace": "11111111-2222-3333-4444-555555555555", "name": "Locked", "lock_policy_type": "LOCK_NOW"},
    {"namespace": "11111111-2222-3333-4444-555555555555", "name": "Sized", "max_size": 4,
     "attributes_must_have": "NV|BS|RT"},
    {"namespace": "11111111-2222-3333-4444-555555555555", "name": "Once", "lock_policy_type": "LOCK_ON_CREATE"}
  ]
}"""


class Device:
    """The engine with a few hand-built MM requests."""

    def __init__(self) -> None:
        self.dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), None)
        self.dev.hard_reset()

    def set(self, name: str, data: bytes, attrs: int = NV_BS_RT, guid: UUID = VENDOR) -> int:
        raw = (name + "\0").encode("utf-16-le")
        payload = guid.bytes_le + struct.pack("<QQI", len(data), len(raw), attrs) + raw + data
        reply = self.dev.handle_mm(build_mm_buffer(SMM_VARIABLE_PROTOCOL, struct.pack("<QQ", 3, 0) + payload))
        return int(struct.unpack_from("<Q", reply, 32)[0])

    def value(self, name: str, guid: UUID = VENDOR) -> bytes | None:
        var = self.dev.store.get(guid, name)
        return None if var is None else var.data

    def register(self, entry: VariablePolicyEntry) -> int:
        message = b"VCPC" + struct.pack("<IIQ", 1, 3, 0) + entry.encode()
        reply = self.dev.handle_mm(build_mm_buffer(VAR_CHECK_POLICY_MMI_HANDLER, message))
        return int(struct.unpack_from("<Q", reply, 36)[0])

    def end_of_dxe(self) -> None:
        self.dev.handle_mm(build_mm_buffer(END_OF_DXE_EVENT_GROUP, b"\0"))


@pytest.fixture
def host() -> Device:
    device = Device()
    install_host_policies(device.dev, parse_host_policies(HOST_JSON.encode()))
    return device


def test_host_lock_refuses_guest_writes_after_end_of_dxe(host: Device) -> None:
    # before EndOfDxe no policy is enforced (edk2 and QEMU): the firmware sets things up
    assert host.set("Locked", b"firmware") == EFI_SUCCESS
    host.end_of_dxe()
    assert host.set("Locked", b"guest") == EFI_WRITE_PROTECTED
    assert host.set("Locked", b"") == EFI_WRITE_PROTECTED  # delete
    assert host.value("Locked") == b"firmware"
    assert host.set("NeverThere", b"x") == EFI_SUCCESS  # other names are not affected


def test_host_size_attribute_and_create_rules(host: Device) -> None:
    host.end_of_dxe()
    assert host.set("Sized", b"12345") == EFI_INVALID_PARAMETER
    assert host.set("Sized", b"1234", attrs=0x06) == EFI_INVALID_PARAMETER  # must have NV
    assert host.set("Sized", b"1234") == EFI_SUCCESS
    assert host.set("Once", b"first") == EFI_SUCCESS
    assert host.set("Once", b"second") == EFI_WRITE_PROTECTED
    assert host.value("Once") == b"first"


def test_host_policies_come_before_the_guests(host: Device) -> None:
    relax = VariablePolicyEntry(VENDOR, "Locked", lock_policy_type=LockPolicyType.NO_LOCK)
    assert host.register(relax) == EFI_ALREADY_STARTED
    assert host.register(VariablePolicyEntry(VENDOR, "GuestOwn", lock_policy_type=1)) == EFI_SUCCESS
    names = [p.describe().split(" ")[0] for p in host.dev.policies.host + host.dev.policies.registered]
    assert names == ["Locked", "Sized", "Once", "GuestOwn"]  # DUMP order: host first
    host.end_of_dxe()
    assert host.set("Locked", b"guest") == EFI_WRITE_PROTECTED


def test_host_policies_survive_a_hard_reset(host: Device) -> None:
    assert host.register(VariablePolicyEntry(VENDOR, "GuestOwn", lock_policy_type=1)) == EFI_SUCCESS
    host.dev.hard_reset()
    assert host.dev.policies.registered == []  # the guest's are gone
    names = [p.describe().split(" ")[0] for p in host.dev.policies.host]
    assert names == ["Locked", "Sized", "Once"]
    host.end_of_dxe()
    assert host.set("Locked", b"after reset") == EFI_WRITE_PROTECTED


def test_host_policies_may_be_installed_after_the_guest_registered() -> None:
    device = Device()
    assert device.register(VariablePolicyEntry(VENDOR, "GuestOwn", lock_policy_type=1)) == EFI_SUCCESS
    install_host_policies(device.dev, parse_host_policies(HOST_JSON.encode()))
    device.end_of_dxe()
    assert device.set("Locked", b"x") == EFI_WRITE_PROTECTED
    assert device.set("GuestOwn", b"x") == EFI_WRITE_PROTECTED


def test_binary_and_json_forms_load_the_same(tmp_path: Path) -> None:
    from_json = parse_host_policies(HOST_JSON.encode())
    binary = parse_host_policies(encode_policy_set(from_json.entries))
    again = parse_host_policies(to_json(from_json.entries).encode())
    assert binary.encoded == from_json.encoded == again.encoded
    path = tmp_path / "host.uvpol"
    path.write_bytes(encode_policy_set(from_json.entries))
    loaded = load_host_policies(path)
    assert loaded.encoded == from_json.encoded and loaded.source == str(path)
    with pytest.raises(UsageError, match="cannot read"):
        load_host_policies(tmp_path / "missing.uvpol")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "neither a UVPOLSET"),
        (b"\x00garbage", "neither a UVPOLSET"),
        (b"UVPOLSET\x01\x00\x00\x00\x01\x00\x00\x00", "announces 1 entries"),
        (b"{not json", "not JSON"),
        (
            b'[{"namespace": "global", "name": "X", "max_size": 0}]',
            "entry 0 (X in EfiGlobalVariable): MaxSize is 0",
        ),
        (b'[{"namespace": "global", "name": "X", "lock_policy_type": 9}]', "LockPolicyType 9"),
        (b'[{"namespace": "global", "name": "X"}, {"namespace": "global", "name": "X"}]', "same namespace"),
        ('[{"namespace": "global", "name": "\U0001f600"}]'.encode(), "surrogates"),
    ],
)
def test_bad_policy_sets(data: bytes, words: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_host_policies(data)
    assert words in str(info.value)


def test_guest_cannot_outrank_a_wildcard_or_namespace_host_policy() -> None:
    wide = parse_host_policies(
        b'[{"namespace": "11111111-2222-3333-4444-555555555555", "name": "Boot####", "lock_policy_type": 1},'
        b' {"namespace": "global", "lock_policy_type": 1},'
        b' {"namespace": "global", "name": "Nothing"}]'
    )
    notes = wide.warnings()
    assert len(notes) == 1 and "restricts nothing" in notes[0]
    assert parse_host_policies(HOST_JSON.encode()).warnings() == []
    device = Device()
    install_host_policies(device.dev, wide)
    # an exact-name NO_LOCK entry would win edk2's best match among the guest's own
    # policies, but host policies are judged on their own first
    assert device.register(VariablePolicyEntry(VENDOR, "Boot0001")) == EFI_SUCCESS
    device.end_of_dxe()
    assert device.register(VariablePolicyEntry(VENDOR, "Boot0002")) == EFI_SUCCESS  # after EndOfDxe too
    assert device.set("Boot0002", b"x") == EFI_WRITE_PROTECTED
    assert device.set("Boot0001", b"x") == EFI_WRITE_PROTECTED
    assert device.set("Other", b"x") == EFI_SUCCESS


def test_the_documented_example() -> None:
    """The administrator's example in docs/policy-set-format.md loads and does what it says."""
    from uefivars_gui.core.guid import CUSTOM_MODE_ENABLE, EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE

    text = (Path(__file__).resolve().parents[2] / "docs" / "policy-set-format.md").read_text(encoding="utf-8")
    section = text.split("## Host policies", 1)[1]
    example = section.split("```json", 1)[1].split("```", 1)[0]
    policies = parse_host_policies(example.encode())
    assert len(policies.entries) == 5 and policies.warnings() == []
    device = Device()
    install_host_policies(device.dev, policies)
    device.end_of_dxe()
    # setup mode: a KEK write needs no signature, so only the host policy refuses it
    from uefivars_gui.core.guid import EFI_CERT_TYPE_PKCS7

    bare = bytes(16) + struct.pack("<IHH", 24, 0x0200, 0x0EF1) + EFI_CERT_TYPE_PKCS7.bytes_le
    assert device.set("KEK", bare + b"keys", attrs=0x27, guid=EFI_GLOBAL_VARIABLE) == EFI_WRITE_PROTECTED
    assert device.value("KEK", EFI_GLOBAL_VARIABLE) is None
    assert device.set("db", bare + b"keys", attrs=0x27, guid=EFI_IMAGE_SECURITY_DATABASE) == EFI_SUCCESS
    assert device.set("CustomMode", b"\x01", attrs=0x03, guid=CUSTOM_MODE_ENABLE) == EFI_WRITE_PROTECTED
    assert device.set("BootOrder", b"\x01\x00", guid=EFI_GLOBAL_VARIABLE) == EFI_SUCCESS
    assert device.set("BootOrder", bytes(130), guid=EFI_GLOBAL_VARIABLE) == EFI_INVALID_PARAMETER
    assert device.set("BootOrder", b"\x01\x00", attrs=0x06, guid=EFI_GLOBAL_VARIABLE) == EFI_INVALID_PARAMETER
