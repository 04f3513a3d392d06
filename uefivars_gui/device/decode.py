"""Pure entry points for decoding MM buffers outside the engine (captures, replays).

:func:`request_fields` / :func:`reply_fields` are the Field trees of
:func:`~uefivars_gui.device.log.decode_mm_buffer` — the same decoder the live log uses.
:func:`summarize_call` pulls the handful of values a one-line view of a call needs
(operation, variable name and GUID, attributes, sizes, status) with ``log.py``'s
bounds-checked readers; it is not a second decoder and it never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ..core.fields import Field
from ..core.guid import (
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    EVENT_READY_TO_BOOT,
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
)
from .log import (
    _fn_display,
    _guid,
    _lock_type_name,
    _u16,
    _u32,
    _u64,
    decode_mm_buffer,
    handler_name,
    summarize_reply,
    ucs2_display,
)
from .status import (
    MM_CHECK_POLICY_HEADER_SIZE,
    MM_HEADER_SIZE,
    MM_VARIABLE_HEADER_SIZE,
    EfiStatus,
    SmmVariableFunction,
    VarCheckPolicyCommand,
    policy_command_name,
)

_EVENTS = {
    END_OF_DXE_EVENT_GROUP: "EndOfDxe",
    EVENT_READY_TO_BOOT: "ReadyToBoot",
    EVENT_EXIT_BOOT_SERVICES: "ExitBootServices",
}
_PAYLOAD = MM_HEADER_SIZE + MM_VARIABLE_HEADER_SIZE
_POLICY_PARAMS = MM_HEADER_SIZE + MM_CHECK_POLICY_HEADER_SIZE


def request_fields(raw: bytes) -> Field:
    """The Field tree of a request buffer (``log.decode_mm_buffer``)."""
    return decode_mm_buffer(raw, reply=False)


def reply_fields(raw: bytes) -> Field:
    """The Field tree of a reply buffer (``log.decode_mm_buffer``)."""
    return decode_mm_buffer(raw, reply=True)


@dataclass(frozen=True, slots=True)
class MmCall:
    """What one request/reply pair was about, for a one-line view.

    ``operation``: ``GetVariable``, ``SetVariable``, ``VarCheckPolicy REGISTER``,
    ``EndOfDxe``, ... ``name``/``guid``: the variable the call names (the policy entry's
    for REGISTER; no name there means the whole namespace). ``data_size``: DataSize of a SetVariable request, or of a GetVariable
    reply (the size needed on EFI_BUFFER_TOO_SMALL). ``status``: ReturnStatus or Result
    of the reply. ``reply_text``: ``log.summarize_reply`` of the reply.
    """

    handler: str
    operation: str
    header_guid: UUID | None
    function: int | None = None
    name: str | None = None
    guid: UUID | None = None
    attributes: int | None = None
    data_size: int | None = None
    status: int | None = None
    reply_text: str | None = None
    lock_type: str | None = None
    is_event: bool = False


def summarize_call(request: bytes | None, reply: bytes | None) -> MmCall:
    """The summary of a call; either side may be missing (a capture cut short)."""
    try:
        return _summarize(request, reply)
    except Exception as exc:  # pragma: no cover - written not to raise
        return MmCall("(undecodable)", f"(undecodable: {exc!r})", None)


def _summarize(request: bytes | None, reply: bytes | None) -> MmCall:
    source = request if request is not None else reply
    raw = bytes(source) if source is not None else b""
    header_guid = _guid(raw, 0)
    handler = handler_name(header_guid)
    reply_text = summarize_reply(bytes(reply), None) if reply is not None else None
    if header_guid is None or _u64(raw, 16) is None:
        return MmCall(handler, "(truncated header)", header_guid, reply_text=reply_text)
    if header_guid in _EVENTS:
        return MmCall(handler, _EVENTS[header_guid], header_guid, is_event=True)
    if header_guid == SMM_VARIABLE_PROTOCOL:
        return _variable_call(raw, reply, handler, header_guid, reply_text)
    if header_guid == VAR_CHECK_POLICY_MMI_HANDLER:
        return _policy_call(raw, reply, handler, header_guid, reply_text)
    return MmCall(handler, handler, header_guid)


def _variable_call(
    raw: bytes, reply: bytes | None, handler: str, header_guid: UUID, reply_text: str | None
) -> MmCall:
    function = _u64(raw, MM_HEADER_SIZE)
    if function is None:
        return MmCall(handler, "(no function)", header_guid, reply_text=reply_text)
    status = _u64(reply, MM_HEADER_SIZE + 8) if reply is not None else None
    operation = _fn_display(function)
    name: str | None = None
    guid: UUID | None = None
    attributes: int | None = None
    data_size: int | None = None
    if function in (SmmVariableFunction.GET_VARIABLE, SmmVariableFunction.SET_VARIABLE):
        guid = _guid(raw, _PAYLOAD)
        name_size = _u64(raw, _PAYLOAD + 24)
        if name_size is not None:
            start = _PAYLOAD + 36
            name = ucs2_display(raw[start : start + min(name_size, len(raw))])
        if function == SmmVariableFunction.SET_VARIABLE:
            attributes = _u32(raw, _PAYLOAD + 32)
            data_size = _u64(raw, _PAYLOAD + 16)
        elif reply is not None and status in (EfiStatus.SUCCESS, EfiStatus.BUFFER_TOO_SMALL):
            attributes = _u32(reply, _PAYLOAD + 32)
            data_size = _u64(reply, _PAYLOAD + 16)
    elif function in (SmmVariableFunction.GET_NEXT_VARIABLE_NAME, SmmVariableFunction.LOCK_VARIABLE):
        guid = _guid(raw, _PAYLOAD)
        name_size = _u64(raw, _PAYLOAD + 16)
        if name_size is not None:
            start = _PAYLOAD + 24
            name = ucs2_display(raw[start : start + min(name_size, len(raw))])
    return MmCall(
        handler, operation, header_guid, function, name, guid, attributes, data_size, status, reply_text
    )


def _policy_call(
    raw: bytes, reply: bytes | None, handler: str, header_guid: UUID, reply_text: str | None
) -> MmCall:
    command = _u32(raw, MM_HEADER_SIZE + 8)
    operation = f"VarCheckPolicy {policy_command_name(command) if command is not None else '(truncated)'}"
    status = _u64(reply, MM_HEADER_SIZE + 12) if reply is not None else None
    name: str | None = None
    guid: UUID | None = None
    lock_type: str | None = None
    if command == VarCheckPolicyCommand.REGISTER:
        entry = _POLICY_PARAMS
        size = _u16(raw, entry + 4)
        offset_to_name = _u16(raw, entry + 6)
        guid = _guid(raw, entry + 8)
        if len(raw) > entry + 40:
            lock_type = _lock_type_name(raw[entry + 40]).split(" ")[0]
        if size is not None and offset_to_name is not None and size > offset_to_name:
            name = ucs2_display(raw[entry + offset_to_name : entry + size])
    return MmCall(
        handler, operation, header_guid, command, name, guid, None, None, status, reply_text, lock_type
    )
