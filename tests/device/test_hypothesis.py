"""Property tests: random MM buffers and random register-access sequences.

No exception may leave the engine (``strict=True`` turns the engine's internal-error
guard into a re-raise, so a bug fails the test), the store stays consistent with the
storage accounting, and memory stays bounded.
"""

from __future__ import annotations

import struct
from uuid import UUID

from device_guest import FakeVerifier, auth2, timestamp, ucs2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from uefivars_gui.core.guid import (
    CUSTOM_MODE_ENABLE,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
)
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import BytearrayMemory, DeviceConfig, UefiVarsDevice
from uefivars_gui.device.engine import _MAX_PENDING_ACCESSES
from uefivars_gui.device.status import MAX_BUFFER_SIZE

VENDOR = UUID("11111111-2222-3333-4444-555555555555")
GUIDS = [EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE, CUSTOM_MODE_ENABLE, VENDOR]
NAMES = ["PK", "KEK", "db", "dbx", "CustomMode", "SetupMode", "Boot0001", "A", ""]
HEADER_GUIDS = [
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    UUID(int=7),
]


def check_consistent(dev: UefiVarsDevice) -> None:
    assert dev.used_storage == sum(dev.variables.variable_size(v) for v in dev.store)
    for var in dev.store:
        assert var.key == (var.guid, var.name)
        assert not int(var.attributes) & 0x40
    assert dev.registers.buf_size <= MAX_BUFFER_SIZE
    assert len(dev.registers.pio_buffer) <= MAX_BUFFER_SIZE
    assert len(dev._log) <= dev.config.log_limit
    assert len(dev._pending) <= _MAX_PENDING_ACCESSES


@st.composite
def raw_names(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.binary(max_size=12))
    name = ucs2(draw(st.sampled_from(NAMES)))
    if kind == 1:
        return name + draw(st.binary(max_size=5))
    return name


@st.composite
def variable_messages(draw: st.DrawFn) -> bytes:
    function = draw(st.one_of(st.integers(0, 15), st.integers(0, (1 << 64) - 1)))
    guid = draw(st.sampled_from(GUIDS))
    name = draw(raw_names())
    attrs = draw(
        st.one_of(st.sampled_from([0, 2, 3, 6, 7, 0x23, 0x27, 0x67, 0x13, 0x83]), st.integers(0, 0xFFFFFFFF))
    )
    kind = draw(st.integers(0, 3))
    if kind == 0:
        data = draw(st.binary(max_size=64))
    elif kind == 1:
        data = auth2(
            timestamp(draw(st.integers(2000, 2030))),
            draw(st.binary(max_size=8)),
            draw(st.binary(max_size=16)),
        )
    else:
        data = b""
    name_size = len(name) if draw(st.booleans()) else draw(st.integers(0, (1 << 64) - 1))
    data_size = len(data) if draw(st.booleans()) else draw(st.integers(0, (1 << 64) - 1))
    if function in (2, 8):
        payload = guid.bytes_le + struct.pack("<Q", name_size) + name + data
    else:
        payload = guid.bytes_le + struct.pack("<QQI", data_size, name_size, attrs) + name + data
    return (
        struct.pack("<QQ", function, 0) + payload[: draw(st.integers(0, len(payload)))]
        if draw(st.integers(0, 5)) == 0
        else struct.pack("<QQ", function, 0) + payload
    )


@st.composite
def policy_messages(draw: st.DrawFn) -> bytes:
    command = draw(st.one_of(st.integers(0, 8), st.integers(0, 0xFFFFFFFF)))
    size = draw(st.integers(0, 120))
    offset = draw(st.integers(0, 120))
    entry = struct.pack(
        "<IHH16sIIIIB3x",
        0x10000,
        size,
        offset,
        draw(st.sampled_from(GUIDS)).bytes_le,
        draw(st.integers(0, 4)),
        draw(st.sampled_from([0, 2, 0xFFFFFFFF])),
        draw(st.integers(0, 7)),
        draw(st.integers(0, 7)),
        draw(st.integers(0, 4)),
    )
    tail = draw(st.binary(max_size=80))
    return b"VCPC" + struct.pack("<IIQ", 1, command, 0) + entry + tail


@st.composite
def mm_requests(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.binary(max_size=160))
    guid = draw(st.sampled_from(HEADER_GUIDS))
    message = (
        draw(variable_messages())
        if choice == 1
        else draw(policy_messages())
        if choice == 2
        else draw(st.binary(max_size=32))
    )
    length = len(message) if draw(st.integers(0, 4)) else draw(st.integers(0, (1 << 64) - 1))
    return guid.bytes_le + struct.pack("<Q", length) + message


def new_device(**kw: object) -> UefiVarsDevice:
    config = DeviceConfig(strict=True, log_limit=300, **kw)  # type: ignore[arg-type]
    dev = UefiVarsDevice(config, VarStore(), BytearrayMemory(1 << 17), FakeVerifier())
    dev.hard_reset()
    return dev


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests=st.lists(mm_requests(), min_size=1, max_size=8), buf_size=st.integers(0, MAX_BUFFER_SIZE + 10)
)
def test_random_mm_buffers(requests: list[bytes], buf_size: int) -> None:
    dev = new_device(size=4096)
    for req in requests:
        out = dev.handle_mm(req)
        assert len(out) == len(req)
        outcome = dev.process_mm(req, buf_size)
        if outcome.reply is not None:
            assert len(outcome.reply) == 24 + int.from_bytes(req[16:24], "little")
        check_consistent(dev)
    for record in dev.drain_log():
        record.describe()
        fields = getattr(record, "fields", None)
        if fields is not None:
            fields()


REGISTER_OFFSETS = st.one_of(
    st.sampled_from([0, 2, 4, 8, 0xC, 0x10, 0x14, 0x18, 0x1C]), st.integers(-4, 0x24)
)
WIDTHS = st.sampled_from([1, 2, 4, 8, 3])
VALUES = st.one_of(
    st.integers(0, 5), st.sampled_from([0x10000, 0x20000, 24, 0x1000, 0]), st.integers(0, (1 << 64) - 1)
)


class DeviceMachine(RuleBasedStateMachine):
    """Random guests: raw register traffic mixed with well-formed DMA/PIO requests."""

    @initialize(use_pio=st.booleans(), size=st.sampled_from([2048, 262144]))
    def setup(self, use_pio: bool, size: int) -> None:
        self.memory = BytearrayMemory(1 << 17)
        self.dev = UefiVarsDevice(
            DeviceConfig(strict=True, log_limit=200, use_pio=use_pio, size=size),
            VarStore(),
            self.memory,
            FakeVerifier(),
        )
        self.dev.hard_reset()

    @rule(offset=REGISTER_OFFSETS, width=WIDTHS, value=VALUES)
    def write(self, offset: int, width: int, value: int) -> None:
        self.dev.write(offset, width, value)

    @rule(offset=REGISTER_OFFSETS, width=WIDTHS)
    def read(self, offset: int, width: int) -> None:
        value = self.dev.read(offset, width)
        assert 0 <= value < (1 << 64)

    @rule(
        request=mm_requests(),
        address=st.sampled_from([0, 0x1000, (1 << 17) - 64, 1 << 40]),
        program=st.booleans(),
    )
    def dma(self, request: bytes, address: int, program: bool) -> None:
        if program:
            self.dev.write(0x04, 4, 0x10000)
        self.dev.write(0x08, 4, address & 0xFFFFFFFF)
        self.dev.write(0x0C, 4, address >> 32)
        if address + len(request) <= (1 << 17):
            self.memory.write(address, request)
        self.dev.write(0x02, 2, 2)
        assert self.dev.read(0x02, 2) in (0, 0x10, 0x11, 0x12)

    @rule(request=mm_requests(), width=st.sampled_from([1, 2, 4, 8]))
    def pio(self, request: bytes, width: int) -> None:
        self.dev.write(0x02, 2, 4)
        padded = request + bytes(-len(request) % width)
        for i in range(0, len(padded), width):
            self.dev.write(0x10, width, int.from_bytes(padded[i : i + width], "little"))
        self.dev.read(0x18, 4)
        self.dev.write(0x02, 2, 3)
        self.dev.write(0x02, 2, 4)
        for _ in range(0, min(len(padded), 256), 4):
            self.dev.read(0x10, 4)

    @rule()
    def hard_reset(self) -> None:
        self.dev.hard_reset()

    @rule()
    def drain(self) -> None:
        self.dev.drain_log()

    @invariant()
    def consistent(self) -> None:
        if hasattr(self, "dev"):
            check_consistent(self.dev)


TestDeviceMachine = DeviceMachine.TestCase
TestDeviceMachine.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
