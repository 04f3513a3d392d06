"""Replay a pcap capture of the uefi-vars device: the calls it holds, decoded.

A capture (QEMU's ``pcapfile=`` or :class:`uefivars_gui.live.capture.PcapWriter`) is a
stream of RESET, REQUEST and REPLY records. :func:`replay_capture` pairs each REQUEST
with the REPLY that follows it into a :class:`ReplayCall`, keeps RESET records as
:class:`ReplayReset` markers, and notes what does not fit (a request without a reply, a
reply without a request, records cut at the snaplen, unknown record types).

Decoding is the device's own (:mod:`uefivars_gui.device.decode`, which calls
``device/log.py``): the one-line view comes from :func:`~uefivars_gui.device.decode.summarize_call`
and the Field trees from ``log.decode_mm_buffer``. Nothing is executed again: this lists
what the device was asked and what it answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..codec.pcap import MmCaptureRecord, MmRecordType, PcapCapture, PcapHeader, decode_pcap
from ..core.attributes import format_attributes
from ..core.fields import Field
from ..core.guid import guid_label
from ..device.decode import MmCall, reply_fields, request_fields, summarize_call
from ..device.status import EfiStatus, SmmVariableFunction, efi_status_name


@dataclass(frozen=True, slots=True)
class CapturedBuffer:
    """The data of one REQUEST or REPLY record, and where it was in the capture."""

    record_index: int
    offset: int
    ts_sec: int
    ts_usec: int
    data: bytes
    #: The size of the buffer the device had (the record may hold fewer bytes).
    size: int

    @classmethod
    def of(cls, index: int, record: MmCaptureRecord) -> CapturedBuffer:
        return cls(index, record.offset, record.ts_sec, record.ts_usec, record.data, record.orig_len - 4)

    @property
    def truncated(self) -> bool:
        return self.size > len(self.data)

    @property
    def time(self) -> float:
        return self.ts_sec + self.ts_usec / 1e6


@dataclass(frozen=True, slots=True)
class ReplayCall:
    """One MM call: the request, the reply (either may be missing) and their summary."""

    number: int
    request: CapturedBuffer | None
    reply: CapturedBuffer | None
    call: MmCall
    notes: tuple[str, ...] = ()

    @property
    def time(self) -> float | None:
        side = self.request or self.reply
        return side.time if side is not None else None

    def request_fields(self) -> Field | None:
        return request_fields(self.request.data) if self.request is not None else None

    def reply_fields(self) -> Field | None:
        return reply_fields(self.reply.data) if self.reply is not None else None

    def line(self) -> str:
        """``#12 GetVariable "BootOrder" EfiGlobalVariable → EFI_SUCCESS (6 bytes)``."""
        c = self.call
        parts = [f"#{self.number}", c.operation, *self._arguments()]
        if self.request is None:
            parts.insert(1, "(request not in the capture)")
        text = " ".join(parts)
        if not c.is_event:
            text += " → " + self._result()
        if self.notes:
            text += "  [!] " + "; ".join(self.notes)
        return text

    def _arguments(self) -> list[str]:
        c = self.call
        args: list[str] = []
        variable_fn = c.handler == "variable protocol"
        if variable_fn and c.function == SmmVariableFunction.GET_NEXT_VARIABLE_NAME and c.name == "":
            return ["(first)"]
        if c.name is not None:
            args.append(f'"{c.name}"')
        elif c.lock_type is not None and c.guid is not None:
            args.append("(whole namespace)")
        if c.guid is not None:
            args.append(guid_label(c.guid))
        if variable_fn and c.function == SmmVariableFunction.SET_VARIABLE:
            if c.attributes is not None:
                args.append(format_attributes(c.attributes))
            if c.data_size is not None:
                args.append("(delete)" if c.data_size == 0 else f"({_bytes(c.data_size)})")
        if c.lock_type is not None:
            args.append(c.lock_type)
        return args

    def _result(self) -> str:
        c = self.call
        if self.reply is None:
            return "(no reply in the capture)"
        if c.handler == "variable protocol" and c.function in (
            SmmVariableFunction.GET_VARIABLE,
            SmmVariableFunction.SET_VARIABLE,
        ):
            if c.status is None:
                return "(no status)"
            text = efi_status_name(c.status)
            if c.function == SmmVariableFunction.GET_VARIABLE and c.data_size is not None:
                if c.status == EfiStatus.SUCCESS:
                    text += f" ({_bytes(c.data_size)})"
                elif c.status == EfiStatus.BUFFER_TOO_SMALL:
                    text += f" (needs {_bytes(c.data_size)})"
            return text
        if c.status is not None and c.handler == "variable policy protocol":
            return efi_status_name(c.status)
        return c.reply_text or "(no status)"

    def to_dict(self, verbose: bool = False) -> dict[str, Any]:
        c = self.call
        out: dict[str, Any] = {
            "type": "call",
            "number": self.number,
            "time": self.time,
            "request_record": self.request.record_index if self.request else None,
            "reply_record": self.reply.record_index if self.reply else None,
            "request_size": self.request.size if self.request else None,
            "reply_size": self.reply.size if self.reply else None,
            "handler": c.handler,
            "operation": c.operation,
            "function": c.function,
            "name": c.name,
            "guid": str(c.guid) if c.guid is not None else None,
            "guid_label": guid_label(c.guid) if c.guid is not None else None,
            "attributes": c.attributes,
            "attributes_text": format_attributes(c.attributes) if c.attributes is not None else None,
            "data_size": c.data_size,
            "lock_type": c.lock_type,
            "status": c.status,
            "status_name": efi_status_name(c.status) if c.status is not None else None,
            "reply": c.reply_text,
            "notes": list(self.notes),
            "line": self.line(),
        }
        if verbose:
            req, rep = self.request_fields(), self.reply_fields()
            out["request_fields"] = field_to_dict(req) if req is not None else None
            out["reply_fields"] = field_to_dict(rep) if rep is not None else None
            out["request_hex"] = self.request.data.hex() if self.request else None
            out["reply_hex"] = self.reply.data.hex() if self.reply else None
        return out


@dataclass(frozen=True, slots=True)
class ReplayReset:
    """A RESET record: the machine (and the device) was reset here."""

    record_index: int
    offset: int
    ts_sec: int
    ts_usec: int

    @property
    def time(self) -> float:
        return self.ts_sec + self.ts_usec / 1e6

    def line(self) -> str:
        return "-- device reset --"

    def to_dict(self, verbose: bool = False) -> dict[str, Any]:
        return {"type": "reset", "record": self.record_index, "time": self.time, "line": self.line()}


@dataclass(frozen=True, slots=True)
class ReplayUnknown:
    """A record whose type is not RESET, REQUEST or REPLY (kept, not decoded)."""

    record_index: int
    offset: int
    kind: int
    data: bytes

    def line(self) -> str:
        return f"-- record {self.record_index}: unknown type {self.kind} ({_bytes(len(self.data))}) --"

    def to_dict(self, verbose: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "unknown",
            "record": self.record_index,
            "kind": self.kind,
            "size": len(self.data),
            "line": self.line(),
        }
        if verbose:
            out["hex"] = self.data.hex()
        return out


ReplayEntry = ReplayCall | ReplayReset | ReplayUnknown


@dataclass(frozen=True, slots=True)
class Replay:
    """The entries of a capture in file order."""

    header: PcapHeader
    entries: tuple[ReplayEntry, ...]

    @property
    def calls(self) -> tuple[ReplayCall, ...]:
        return tuple(e for e in self.entries if isinstance(e, ReplayCall))

    def to_dict(self, verbose: bool = False) -> dict[str, Any]:
        return {
            "format": "uefivars-replay",
            "version": 1,
            "link_type": self.header.network,
            "nanosecond": self.header.nanosecond,
            "entries": [e.to_dict(verbose) for e in self.entries],
        }


def replay_pcap(data: bytes) -> Replay:
    """Decode a capture file's bytes and pair its records (DecodeError if malformed)."""
    return replay_capture(decode_pcap(data))


def replay_capture(capture: PcapCapture) -> Replay:
    """Pair REQUEST and REPLY records into calls, in capture order."""
    entries: list[ReplayEntry] = []
    pending: CapturedBuffer | None = None
    number = 0

    def flush_pending() -> None:
        nonlocal pending, number
        if pending is not None:
            number += 1
            entries.append(_call(number, pending, None))
            pending = None

    for index, record in enumerate(capture.records):
        if record.kind == MmRecordType.REQUEST:
            flush_pending()
            pending = CapturedBuffer.of(index, record)
        elif record.kind == MmRecordType.REPLY:
            reply = CapturedBuffer.of(index, record)
            number += 1
            entries.append(_call(number, pending, reply))
            pending = None
        elif record.kind == MmRecordType.RESET:
            flush_pending()
            entries.append(ReplayReset(index, record.offset, record.ts_sec, record.ts_usec))
        else:
            flush_pending()
            entries.append(ReplayUnknown(index, record.offset, record.kind, record.data))
    flush_pending()
    return Replay(capture.header, tuple(entries))


def _call(number: int, request: CapturedBuffer | None, reply: CapturedBuffer | None) -> ReplayCall:
    notes: list[str] = []
    if request is None:
        notes.append("REPLY without a REQUEST")
    if reply is None:
        notes.append("no REPLY follows this REQUEST")
    for side, label in ((request, "request"), (reply, "reply")):
        if side is not None and side.truncated:
            notes.append(f"{label} cut at the snaplen ({len(side.data)} of {side.size} bytes captured)")
    if (
        request is not None
        and reply is not None
        and (request.data[:16] != reply.data[:16] or request.size != reply.size)
    ):
        notes.append("the reply does not match the request (header GUID or size differ)")
    call = summarize_call(
        request.data if request is not None else None, reply.data if reply is not None else None
    )
    return ReplayCall(number, request, reply, call, tuple(notes))


def _bytes(count: int) -> str:
    return "1 byte" if count == 1 else f"{count} bytes"


def field_to_dict(node: Field) -> dict[str, Any]:
    """A Field tree as JSON-ready dicts (name, offset, length, text, warning, children)."""
    out: dict[str, Any] = {
        "name": node.name,
        "offset": node.offset,
        "length": node.length,
        "text": node.text,
    }
    if node.warning:
        out["warning"] = node.warning
    if node.children:
        out["children"] = [field_to_dict(child) for child in node.children]
    return out
