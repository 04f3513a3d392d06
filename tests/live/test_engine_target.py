"""EngineTarget: edk2's guest drivers over the in-process engine give the engine's own replies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest

from uefivars_gui.codec import qemu_json
from uefivars_gui.core.attributes import Attributes
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import BytearrayMemory, DeviceConfig, UefiVarsDevice
from uefivars_gui.live.engine_target import EngineTarget
from uefivars_gui.live.guest import (
    BurstTarget,
    DeviceStatusError,
    GuestSession,
    Mode,
    Target,
    VariableClient,
)

VENDOR = UUID("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
EFI_SUCCESS = 0
EFI_NOT_FOUND = 0x800000000000000E
NV_BS_RT = int(Attributes.NON_VOLATILE | Attributes.BOOTSERVICE_ACCESS | Attributes.RUNTIME_ACCESS)
BS_RT = int(Attributes.BOOTSERVICE_ACCESS | Attributes.RUNTIME_ACCESS)


def _store(path: Path) -> VarStore:
    return qemu_json.decode(path.read_bytes()).store


def _twin(path: Path) -> UefiVarsDevice:
    device = UefiVarsDevice(DeviceConfig(), _store(path), None)
    device.hard_reset()
    return device


def test_is_a_target() -> None:
    target = EngineTarget()
    assert isinstance(target, BurstTarget)
    typed: Target = target
    assert typed.read(0x00, 2) == 0x0EF1
    assert target.dma_buffer_addr == 0x00200000


Operation = Callable[[VariableClient], object]

OPERATIONS: list[tuple[str, Operation]] = [
    ("payload size", lambda c: c.get_payload_size()),
    ("get SecureBoot", lambda c: c.get_variable("SecureBoot", EFI_GLOBAL_VARIABLE)),
    ("get PK too small", lambda c: c.get_variable("PK", EFI_GLOBAL_VARIABLE, 4)),
    ("get missing", lambda c: c.get_variable("NoSuchVariable", VENDOR, 16)),
    ("set NV", lambda c: c.set_variable("Test", VENDOR, NV_BS_RT, b"hello")),
    ("set volatile", lambda c: c.set_variable("Volatile", VENDOR, BS_RT, b"\x01\x02")),
    ("get NV", lambda c: c.get_variable("Test", VENDOR)),
    ("first name", lambda c: c.get_next_variable_name()),
    ("name too small", lambda c: c.get_next_variable_name("", None, 2)),
    ("query info", lambda c: c.query_variable_info(NV_BS_RT)),
    ("bad set attributes", lambda c: c.set_variable("Bad", VENDOR, 0x4000, b"x")),
    ("lying length", lambda c: c.call(1, bytes(40), message_length=8)),
    ("end of dxe", lambda c: c.end_of_dxe()),
    ("delete", lambda c: c.delete_variable("Test", VENDOR)),
    ("get deleted", lambda c: c.get_variable("Test", VENDOR, 16)),
    ("ready to boot", lambda c: c.ready_to_boot()),
]


@pytest.mark.parametrize("mode", ["dma", "pio"])
def test_guest_session_replies_equal_handle_mm(ms_store: Path, mode: Mode) -> None:
    target = EngineTarget(config=DeviceConfig(use_pio=mode == "pio"), store=_store(ms_store))
    twin = _twin(ms_store)
    session = GuestSession(target, mode)
    client = VariableClient(session)
    assert session.mode == mode
    for what, operation in OPERATIONS:
        operation(client)
        expected = twin.handle_mm(session.last_request)
        assert session.last_reply == expected, what
    # the engine's state is the same either way
    assert list(target.store) == list(twin.store)


def test_enumeration_matches_the_store(ms_store: Path) -> None:
    target = EngineTarget(store=_store(ms_store))
    client = VariableClient(GuestSession(target))
    names = client.enumerate_variables()
    assert names == [(var.guid, var.name) for var in target.store]


def test_existing_device_keeps_its_state(ms_store: Path) -> None:
    device = _twin(ms_store)
    first = EngineTarget(device)
    VariableClient(GuestSession(first)).set_variable("Kept", VENDOR, BS_RT, b"\x07")
    second = EngineTarget(device)  # a new target (new RAM) on the same device
    assert second.device is device
    result = VariableClient(GuestSession(second)).get_variable("Kept", VENDOR)
    assert (result.status, result.data) == (EFI_SUCCESS, b"\x07")
    second.reset()  # hard reset: volatile variables are gone
    result = VariableClient(GuestSession(second)).get_variable("Kept", VENDOR, 8)
    assert result.status == EFI_NOT_FOUND


def test_given_memory_and_base() -> None:
    memory = BytearrayMemory(0x11000, base=0x7000_0000)
    target = EngineTarget(memory=memory)
    assert target.memory is memory and target.dma_buffer_addr == 0x7000_0000
    client = VariableClient(GuestSession(target))
    assert client.set_variable("X", VENDOR, BS_RT, b"1").status == EFI_SUCCESS
    assert target.device.registers.dma_address == 0x7000_0000
    target.mem_write(0x7000_0000, b"abc")
    assert target.mem_read(0x7000_0000, 3) == b"abc"


def test_without_dma_the_device_answers_not_supported() -> None:
    target = EngineTarget(serve_dma=False)
    with pytest.raises(DeviceStatusError) as info:
        VariableClient(GuestSession(target, "dma")).get_payload_size()
    assert info.value.status == 0x11
    assert VariableClient(GuestSession(target, "pio")).get_payload_size().status == EFI_SUCCESS


def test_burst_equals_single_accesses() -> None:
    a, b = EngineTarget(), EngineTarget()
    for target in (a, b):
        target.write(0x04, 4, 64)
        target.write(0x02, 2, 4)
    words = [0x11223344, 0x55667788, 0x99AABBCC]
    a.write_burst(0x10, 4, words)
    for word in words:
        b.write(0x10, 4, word)
    assert a.read(0x18, 4) == b.read(0x18, 4) != 0
    a.write(0x02, 2, 4)
    b.write(0x02, 2, 4)
    assert a.read_burst(0x10, 4, 3) == [b.read(0x10, 4) for _ in range(3)] == words


def test_handle_mm_request_shape(ms_store: Path) -> None:
    """The request GuestSession sends is what handle_mm takes: header GUID + length + message."""
    target = EngineTarget(store=_store(ms_store))
    session = GuestSession(target)
    VariableClient(session).get_payload_size()
    assert session.last_request[:16] == SMM_VARIABLE_PROTOCOL.bytes_le
    assert int.from_bytes(session.last_request[16:24], "little") == len(session.last_request) - 24
