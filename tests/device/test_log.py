"""Log records: decoded Field trees with byte spans, summaries, malformed requests."""

from __future__ import annotations

import struct

from device_guest import Guest, auth2, mm_buffer, timestamp, ucs2, var_message

from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL, VAR_CHECK_POLICY_MMI_HANDLER
from uefivars_gui.device.log import (
    MalformedRequest,
    MmReply,
    MmRequest,
    RegisterAccess,
    Transfer,
    decode_mm_buffer,
    summarize_request,
)


def _get_request(name: str = "SetupMode", data_size: int = 8) -> bytes:
    raw = ucs2(name)
    payload = (
        EFI_GLOBAL_VARIABLE.bytes_le + struct.pack("<QQI", data_size, len(raw), 0) + raw + bytes(data_size)
    )
    return mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(1, payload))


def test_request_and_reply_fields_with_spans() -> None:
    guest = Guest.boot()
    guest.dev.drain_log()
    guest.communicate_raw(_get_request())
    log = guest.dev.drain_log()
    req = next(r for r in log if isinstance(r, MmRequest))
    rep = next(r for r in log if isinstance(r, MmReply))
    tree = req.fields()
    guid = tree.find("HeaderGuid")
    assert guid is not None and (guid.offset, guid.length) == (0, 16) and "SmmVariableProtocol" in guid.text
    func = tree.find("Function")
    assert func is not None and func.text == "GET_VARIABLE (1)" and func.offset == 24
    name = tree.find("Name")
    assert name is not None and (name.offset, name.length, name.text) == (76, 20, '"SetupMode"')
    vguid = tree.find("Guid")
    assert vguid is not None and "EfiGlobalVariable" in vguid.text
    assert tree.deepest_at(80) is name
    assert (req.handler, req.function) == ("variable protocol", 1)
    assert req.describe() == 'GetVariable("SetupMode", EfiGlobalVariable, DataSize=8)'
    rtree = rep.fields()
    status = rtree.find("ReturnStatus")
    assert status is not None and status.text == "EFI_SUCCESS"
    data = rtree.find("Data")
    assert data is not None and data.offset == 96 and data.length == 1
    assert rep.describe() == "EFI_SUCCESS DataSize=1 Attributes=BS|RT"
    assert rep.return_status == 0


def test_authenticated_set_variable_decode() -> None:
    raw = ucs2("db")
    data = auth2(timestamp(2024), b"SIG", b"payload")
    payload = EFI_GLOBAL_VARIABLE.bytes_le + struct.pack("<QQI", len(data), len(raw), 0x27) + raw + data
    tree = decode_mm_buffer(mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(3, payload)))
    auth = tree.find("EFI_VARIABLE_AUTHENTICATION_2")
    assert auth is not None
    assert [c.name for c in auth.children][:2] == ["TimeStamp", "dwLength"]
    stamp = auth.find("TimeStamp")
    assert stamp is not None and stamp.text == "2024-01-01T00:00:00"
    cert = auth.find("CertData (PKCS#7)")
    assert cert is not None and cert.length == 3
    body = tree.find("Payload")
    assert body is not None and body.length == 7 and body.offset == 24 + 16 + 36 + 6 + 40 + 3


def test_policy_register_decode_and_summary() -> None:
    entry = struct.pack(
        "<IHH16sIIIIB3x", 0x10000, 44 + 6, 44, EFI_GLOBAL_VARIABLE.bytes_le, 0, 0xFFFFFFFF, 0, 0, 1
    )
    buf = mm_buffer(VAR_CHECK_POLICY_MMI_HANDLER, b"VCPC" + struct.pack("<IIQ", 1, 3, 0) + entry + ucs2("Ab"))
    tree = decode_mm_buffer(buf)
    pol = tree.find("VARIABLE_POLICY_ENTRY")
    assert pol is not None
    lock = pol.find("LockPolicyType")
    assert lock is not None and lock.text == "LOCK_NOW (1)"
    name = pol.find("Name")
    assert name is not None and name.text == '"Ab"'
    assert summarize_request(buf) == "VarCheckPolicy REGISTER"


def test_malformed_inputs_decode_with_warnings() -> None:
    assert decode_mm_buffer(b"").warning == "truncated"
    truncated = _get_request()[:50]
    tree = decode_mm_buffer(truncated)
    assert tree.warning and "exceeds" in tree.warning
    bad_name = mm_buffer(
        SMM_VARIABLE_PROTOCOL,
        var_message(1, EFI_GLOBAL_VARIABLE.bytes_le + struct.pack("<QQI", 0, 4, 0) + b"A\0B\0"),
    )
    name = decode_mm_buffer(bad_name).find("Name")
    assert name is not None and name.warning == "not NUL-terminated within NameSize"


def test_malformed_request_record_and_transfer() -> None:
    guest = Guest.boot()
    guest.dev.drain_log()
    guest.communicate_raw(SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<Q", 1 << 20) + bytes(16))
    log = guest.dev.drain_log()
    bad = [r for r in log if isinstance(r, MalformedRequest)]
    assert bad and "MessageLength" in bad[0].reason and bad[0].device_status == 0x12
    transfer = next(r for r in log if isinstance(r, Transfer))
    assert transfer.request is None and transfer.device_status == 0x12
    for record in log:
        assert isinstance(record.describe(), str)


def test_reply_problem_explains_refusal() -> None:
    guest = Guest.boot()
    guest.dev.drain_log()
    guest.set_variable("PK", EFI_GLOBAL_VARIABLE, 0x27, auth2(timestamp(), b"", b"x"))
    rep = next(r for r in guest.dev.drain_log() if isinstance(r, MmReply))
    assert rep.problem and "no signature" in rep.problem
    problem = rep.fields().find("problem")
    assert problem is not None


def test_register_access_records() -> None:
    guest = Guest.boot()
    log = guest.dev.drain_log()
    accesses = [r for r in log if isinstance(r, RegisterAccess)]
    assert accesses[0].register == "MAGIC" and accesses[0].value == 0x0EF1
    reset = next(a for a in accesses if a.register == "CMD_STS" and a.direction.value == "write")
    assert reset.note == "RESET -> SUCCESS"
    assert "CMD_STS" in reset.describe()
