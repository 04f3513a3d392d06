"""The guest side against QEMU's real uefi-vars device (qtest, no guest firmware)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from uefivars_gui.core.guid import (
    EFI_GLOBAL_VARIABLE,
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    EVENT_READY_TO_BOOT,
    MEMORY_TYPE_INFORMATION,
)
from uefivars_gui.device.status import SmmVariableFunction
from uefivars_gui.live.guest import GuestSession, MmReply, VariableClient
from uefivars_gui.live.qtest import QemuError, QemuQtest, QtestError, find_qemu, qemu_version

pytestmark = pytest.mark.qemu

EFI_SUCCESS = 0
EFI_UNSUPPORTED = 0x8000000000000003
EFI_BUFFER_TOO_SMALL = 0x8000000000000005
EFI_WRITE_PROTECTED = 0x8000000000000008
EFI_NOT_FOUND = 0x800000000000000E
EFI_ACCESS_DENIED = 0x800000000000000F
EFI_SECURITY_VIOLATION = 0x800000000000001A

TEST_GUID = UUID("5f0b3b9e-2c6f-4e38-9d0e-6a1c2b7d4e51")
NV_BS_RT = 0x07
#: Volatile variables QEMU's auth_init creates at every reset (not in the JSON file).
RESET_VOLATILES = {
    (EFI_GLOBAL_VARIABLE, "SetupMode"),
    (EFI_GLOBAL_VARIABLE, "SignatureSupport"),
    (EFI_GLOBAL_VARIABLE, "SecureBoot"),
    (EFI_GLOBAL_VARIABLE, "VendorKeys"),
}
#: A variable someone set while the shared sample was being made; it sits in the file.
STRAY = (UUID("11111111-2222-3333-4444-555555555555"), "EnvCheckTest")

QemuFactory = Callable[..., QemuQtest]
StoreCopy = Callable[[], Path]
QemuBinary = Callable[[str], str]

COMBOS = [("x86_64", "dma"), ("x86_64", "pio"), ("aarch64", "dma"), ("aarch64", "pio")]


@dataclass
class Live:
    qemu: QemuQtest
    session: GuestSession
    client: VariableClient
    jsonfile: Path


def _json_variables(path: Path) -> list[dict[str, object]]:
    # QEMU truncates and rewrites in place; re-read until the text parses.
    for _ in range(50):
        try:
            variables: list[dict[str, object]] = json.loads(path.read_text())["variables"]
            return variables
        except (json.JSONDecodeError, KeyError):
            time.sleep(0.01)
    raise AssertionError(f"{path} never parsed")


def _start(qemu_factory: QemuFactory, store_copy: StoreCopy, arch: str, mode: str, **options: object) -> Live:
    jsonfile = store_copy()
    qemu = qemu_factory(arch, jsonfile, use_pio=(mode == "pio"), **options)
    session = GuestSession(qemu)  # mode "auto": follows FLAGS like edk2
    return Live(qemu, session, VariableClient(session), jsonfile)


@pytest.fixture(scope="module", params=COMBOS, ids=[f"{a}-{m}" for a, m in COMBOS])
def live(request: pytest.FixtureRequest, qemu_factory: QemuFactory, store_copy: StoreCopy) -> Live:
    arch, mode = request.param
    return _start(qemu_factory, store_copy, arch, mode)


# --- registers and init -------------------------------------------------------------------


def test_magic_flags_and_mode(live: Live) -> None:
    assert live.qemu.read(0x00, 2) == 0x0EF1
    assert live.qemu.read(0x04, 4) == 65536  # BUFFER_SIZE as programmed by the session
    pio = live.qemu.use_pio
    assert live.session.flags == (1 if pio else 0)
    assert live.session.mode == ("pio" if pio else "dma")
    if not pio:
        assert live.qemu.read(0x08, 4) == live.qemu.dma_buffer_addr
        assert live.qemu.read(0x0C, 4) == 0


def test_get_payload_size(live: Live) -> None:
    result = live.client.get_payload_size()
    assert result.status == EFI_SUCCESS
    if live.qemu.version() == (10, 0, 2):
        assert result.payload_size == 65536  # buf_size; newer QEMU answers 65536 - 40
    else:
        assert result.payload_size in (65536, 65496)


def test_query_variable_info(live: Live) -> None:
    info = live.client.query_variable_info(NV_BS_RT)
    assert info.status == EFI_SUCCESS
    assert info.maximum_variable_storage_size == 262144
    assert 0 < info.remaining_variable_storage_size < 262144
    assert info.maximum_variable_size == 262144 >> 2


# --- variables ----------------------------------------------------------------------------


def test_enumerate_ms_store(live: Live, ms_store: Path) -> None:
    names = [key for key in live.client.enumerate_variables() if key[1] != "UefivarsLiveTest"]
    in_file = {(UUID(str(v["guid"])), str(v["name"])) for v in _json_variables(ms_store)}
    assert len(names) == len(set(names))
    assert set(names) == in_file | RESET_VOLATILES
    # 21 from the firmware store + SetupMode, SignatureSupport, SecureBoot, VendorKeys and
    # a second VendorKeysNv (global GUID), plus the stray variable in the sample.
    assert len([key for key in names if key != STRAY]) == 26


def test_get_variable_size_probe(live: Live) -> None:
    probe = live.client.get_variable("PK", EFI_GLOBAL_VARIABLE, data_size=0)
    assert probe.status == EFI_BUFFER_TOO_SMALL
    assert probe.attributes == 0x27
    assert probe.data_size > 0
    assert probe.data == b""
    full = live.client.get_variable("PK", EFI_GLOBAL_VARIABLE)
    assert full.status == EFI_SUCCESS
    assert full.attributes == 0x27
    assert len(full.data) == full.data_size == probe.data_size
    assert live.client.get_variable("NoSuchVariable", EFI_GLOBAL_VARIABLE).status == EFI_NOT_FOUND


def test_set_get_delete_persists_in_json(live: Live) -> None:
    client = live.client
    data = bytes(range(1, 40))
    assert client.set_variable("UefivarsLiveTest", TEST_GUID, NV_BS_RT, data).status == EFI_SUCCESS
    got = client.get_variable("UefivarsLiveTest", TEST_GUID)
    assert (got.status, got.attributes, got.data) == (EFI_SUCCESS, NV_BS_RT, data)
    stored = [v for v in _json_variables(live.jsonfile) if v["name"] == "UefivarsLiveTest"]
    assert stored == [
        {"name": "UefivarsLiveTest", "guid": str(TEST_GUID), "attr": NV_BS_RT, "data": data.hex()}
    ]
    assert (TEST_GUID, "UefivarsLiveTest") in client.enumerate_variables()

    assert client.delete_variable("UefivarsLiveTest", TEST_GUID).status == EFI_SUCCESS
    assert client.get_variable("UefivarsLiveTest", TEST_GUID).status == EFI_NOT_FOUND
    assert not [v for v in _json_variables(live.jsonfile) if v["name"] == "UefivarsLiveTest"]


def test_set_pk_without_auth_header_is_a_security_violation(live: Live) -> None:
    result = live.client.set_variable("PK", EFI_GLOBAL_VARIABLE, 0x27, b"not an auth header")
    assert result.status == EFI_SECURITY_VIOLATION == 0x800000000000001A


def test_get_next_variable_name_buffer_too_small(live: Live) -> None:
    first = live.client.get_next_variable_name("", None, name_size=2)
    assert first.status == EFI_BUFFER_TOO_SMALL
    assert first.name_size == len("certdb\0".encode("utf-16-le"))
    again = live.client.get_next_variable_name("", None, name_size=first.name_size)
    assert (again.status, again.name) == (EFI_SUCCESS, "certdb")


# --- error paths (sizes that lie) ---------------------------------------------------------


def test_message_length_shorter_than_variable_header(live: Live) -> None:
    result = live.client.call(SmmVariableFunction.GET_PAYLOAD_SIZE, bytes(8), message_length=8)
    assert result.device_status == 0x12


def test_message_length_beyond_buffer(live: Live) -> None:
    result = live.client.call(SmmVariableFunction.GET_PAYLOAD_SIZE, bytes(8), message_length=70000)
    assert result.device_status == 0x12


def test_unknown_function_and_header_guid(live: Live) -> None:
    result = live.client.call(99, bytes(8))
    assert (result.device_status, result.status) == (0, EFI_UNSUPPORTED)
    reply = live.session.communicate(TEST_GUID, b"abc")
    assert reply == MmReply(0x11, b"abc")  # written back unchanged


def test_get_variable_message_too_short_for_data(live: Live) -> None:
    # GET of PK with DataSize large enough but a MessageLength that does not cover the data.
    name = "PK\0".encode("utf-16-le")
    payload = EFI_GLOBAL_VARIABLE.bytes_le + (4096).to_bytes(8, "little") + len(name).to_bytes(8, "little")
    payload += bytes(4) + name
    result = live.client.call(SmmVariableFunction.GET_VARIABLE, payload)
    assert (result.device_status, result.status) == (0, EFI_BUFFER_TOO_SMALL)


# --- QEMU's own behaviour with fresh devices --------------------------------------------


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_dma_and_pio_agree(arch: str, qemu_factory: QemuFactory, store_copy: StoreCopy) -> None:
    seen = []
    for mode in ("dma", "pio"):
        live = _start(qemu_factory, store_copy, arch, mode)
        client = live.client
        names = client.enumerate_variables()
        values = [client.get_variable(name, guid) for guid, name in names]
        raw = [
            client.call(SmmVariableFunction.GET_PAYLOAD_SIZE, bytes(8)),
            client.call(SmmVariableFunction.QUERY_VARIABLE_INFO, bytes(32)),
            client.call(42, bytes(20)),
            client.call(SmmVariableFunction.GET_VARIABLE, bytes(60), message_length=30),
            client.set_variable("PK", EFI_GLOBAL_VARIABLE, 0x27, b"x"),
            client.set_variable("Agree", TEST_GUID, NV_BS_RT, b"same"),
            client.get_variable("Agree", TEST_GUID),
        ]
        seen.append((names, values, raw, _json_variables(live.jsonfile)))
        live.qemu.close()
    assert seen[0] == seen[1]


def test_events_exit_boot_services_hides_boot_service_variables(
    qemu_factory: QemuFactory, store_copy: StoreCopy
) -> None:
    live = _start(qemu_factory, store_copy, "x86_64", "dma")
    client = live.client
    assert client.get_variable("MemoryTypeInformation", MEMORY_TYPE_INFORMATION).status == EFI_SUCCESS
    assert client.end_of_dxe() == 0
    assert client.ready_to_boot().status == EFI_SUCCESS
    assert client.signal_event(EVENT_READY_TO_BOOT) == 0
    assert client.exit_boot_service().status == EFI_SUCCESS
    assert client.signal_event(EVENT_EXIT_BOOT_SERVICES) == 0
    assert client.get_variable("MemoryTypeInformation", MEMORY_TYPE_INFORMATION).status == EFI_ACCESS_DENIED
    names = client.enumerate_variables()
    assert (MEMORY_TYPE_INFORMATION, "MemoryTypeInformation") not in names  # BS only


def test_lock_variable_applies_after_end_of_dxe(qemu_factory: QemuFactory, store_copy: StoreCopy) -> None:
    live = _start(qemu_factory, store_copy, "x86_64", "pio")
    client = live.client
    assert client.set_variable("LockMe", TEST_GUID, NV_BS_RT, b"1").status == EFI_SUCCESS
    assert client.lock_variable("LockMe", TEST_GUID).status == EFI_SUCCESS
    assert client.set_variable("LockMe", TEST_GUID, NV_BS_RT, b"2").status == EFI_SUCCESS
    assert live.session.signal_event(END_OF_DXE_EVENT_GROUP) == 0
    assert client.set_variable("LockMe", TEST_GUID, NV_BS_RT, b"3").status == EFI_WRITE_PROTECTED
    assert client.get_variable("LockMe", TEST_GUID).data == b"2"


def test_system_reset_via_qmp(qemu_factory: QemuFactory, store_copy: StoreCopy) -> None:
    live = _start(qemu_factory, store_copy, "aarch64", "dma", qmp=True)
    qemu, client = live.qemu, live.client
    assert qemu.version() == qemu_version(qemu.binary)
    assert qemu.qmp("qom-get", path="/machine/peripheral-anon/device[0]", property="size") == 262144
    assert client.set_variable("Volatile", TEST_GUID, 0x06, b"v").status == EFI_SUCCESS
    qemu.system_reset()
    assert qemu.read(0x04, 4) == 0  # the reset freed the buffer: the guest must re-init
    live.session.initialize()
    assert client.get_variable("Volatile", TEST_GUID).status == EFI_NOT_FOUND
    assert client.get_variable("PK", EFI_GLOBAL_VARIABLE).status == EFI_SUCCESS


def test_device_properties_reach_qemu(qemu_factory: QemuFactory, store_copy: StoreCopy) -> None:
    live = _start(qemu_factory, store_copy, "x86_64", "dma", size=65536, qmp=True, disable_custom_mode=True)
    assert live.client.query_variable_info(NV_BS_RT).maximum_variable_storage_size == 65536
    path = "/machine/peripheral-anon/device[0]"
    assert live.qemu.qmp("qom-get", path=path, property="disable-custom-mode") is True
    assert live.qemu.qmp("qom-get", path=path, property="force-secure-boot") is False


# --- the driver itself --------------------------------------------------------------------


def test_qtest_failure_and_close(qemu_factory: QemuFactory) -> None:
    qemu = qemu_factory("x86_64", None)  # no jsonfile: a store without persistence
    assert qemu.running
    with pytest.raises(QtestError, match="FAIL"):
        qemu.command("no-such-command")
    assert qemu.read(0x00, 2) == 0x0EF1  # the session survives a failed command
    pid = qemu.pid
    qemu.close()
    assert not qemu.running and pid is not None and qemu.returncode is not None
    qemu.close()  # idempotent
    with pytest.raises(QemuError, match="not connected"):
        qemu.read(0x00, 2)


def test_start_failure_reports_qemu_stderr(tmp_path: Path, qemu_x86_64: str) -> None:
    path = qemu_x86_64
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 2, "variables": [{"bogus": 1}]}')
    qemu = QemuQtest("x86_64", bad, qemu=path, start_timeout=10)
    with pytest.raises(QemuError, match="exited with status") as info:
        qemu.start()
    assert "variables[0]" in str(info.value)  # QEMU's own complaint about the file
    assert not qemu.running


def test_context_manager_terminates_on_error(qemu_aarch64: str) -> None:
    path = qemu_aarch64
    with pytest.raises(RuntimeError), QemuQtest("aarch64", qemu=path) as qemu:
        assert qemu.read(0x00, 2) == 0x0EF1
        raise RuntimeError("boom")
    assert not qemu.running


def test_find_qemu_and_version(qemu_x86_64: str) -> None:
    path = qemu_x86_64
    assert find_qemu("x64") == path
    assert qemu_version(path) >= (10, 0, 0)
    with pytest.raises(QemuError, match="unsupported architecture"):
        find_qemu("mips")
    assert "use-pio=on" in QemuQtest("x86_64", "/tmp/a,b.json", use_pio=True, qemu=path).device_arg
    assert "jsonfile=/tmp/a,,b.json" in QemuQtest("x86_64", "/tmp/a,b.json", qemu=path).device_arg
