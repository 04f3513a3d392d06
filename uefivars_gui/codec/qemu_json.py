"""The JSON variable store of QEMU's uefi-vars device (``jsonfile=``).

Reads what QEMU, virt-fw-vars and python-uefivars write (``time`` or ``timestamp``,
``digest``, the bare version-1 list). Writes exactly what QEMU 10.x writes for the same
content unless asked to keep another writer's style: QEMU's pretty printer (4-space
indent, uppercase ``\\uXXXX`` escapes, no trailing newline), QEMU's member order
(``name, digest, guid, attr, time, data``), lowercase hex, ``time`` for time-based
authenticated variables only. Every variable given is written; leaving out volatile
variables (as QEMU does) is the device's business, not the codec's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from uuid import UUID

from ..core.attributes import AP, AT, Attributes
from ..core.efitime import EFI_TIME_SIZE, ZERO_TIME, EfiTime
from ..core.record import field, value
from ..core.store import VarStore
from ..core.variable import Variable
from ..errors import DecodeError, EncodeError
from .base import StoreDocument, StoreFormat

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and json are imported only when needed: start-up time
    from typing import Any

_HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2})*$")


@value
class JsonStyle:
    """How a JSON store file is laid out, so a file can be written back the way it was."""

    #: variable members in the order they are written (members absent are skipped)
    member_order: tuple[str, ...] = ("name", "digest", "guid", "attr", "time", "data")
    #: "time" (QEMU, virt-fw-vars) or "timestamp" (python-uefivars)
    time_key: str = "time"
    #: True: write a time member exactly for AT variables (QEMU); False: where the
    #: variable has a timestamp, leaving out all-zero ones when ``omit_zero_time``
    time_for_at: bool = True
    omit_zero_time: bool = False
    #: False: the python-uefivars version-1 form, a bare list of variables
    wrapped: bool = True
    version: int = 2
    #: "qemu": QEMU's qobject pretty printer; "python": json.dumps(indent=4)
    printer: str = "qemu"
    trailing_newline: bool = False


QEMU_STYLE = JsonStyle()
VIRT_FW_VARS_STYLE = JsonStyle(
    member_order=("name", "guid", "attr", "data", "time", "digest"),
    time_for_at=False,
    omit_zero_time=True,
    printer="python",
    trailing_newline=False,
)

PYTHON_UEFIVARS_ORDER = ("name", "data", "guid", "attr", "timestamp", "digest")


@value
class JsonOrigin:
    """What ``decode`` saw: the file's style, and its bytes and variables, so that
    writing back an unchanged store gives the file byte for byte."""

    style: JsonStyle
    raw: bytes = b""
    store: VarStore = field(default_factory=VarStore)


# --- probing and decoding ------------------------------------------------------------


def probe(data: bytes) -> bool:
    """Cheap content check: a JSON object with "variables" or a JSON list."""
    head = data[:4096].lstrip()
    if head.startswith(b"{"):
        return b'"variables"' in data[:65536] or b'"version"' in head
    return head.startswith(b"[") and (head[1:].lstrip().startswith(b"{") or head[1:].lstrip().startswith(b"]"))


def _field_error(index: int, member: str, message: str) -> DecodeError:
    return DecodeError(message, what=f"variables[{index}].{member}")


def _hex(index: int, member: str, value: object) -> bytes:
    if not isinstance(value, str) or not _HEX_RE.match(value):
        raise _field_error(index, member, "must be a string of hex digit pairs")
    return bytes.fromhex(value)


def _variable(index: int, raw: object) -> Variable:
    if not isinstance(raw, dict):
        raise DecodeError("must be an object", what=f"variables[{index}]")
    for member in ("name", "guid", "attr", "data"):
        if member not in raw:
            raise _field_error(index, member, "missing member")
    name = raw["name"]
    if not isinstance(name, str) or not name:
        raise _field_error(index, "name", "must be a non-empty string")
    try:
        guid = UUID(str(raw["guid"]))
    except ValueError:
        raise _field_error(index, "guid", f"not a GUID: {raw['guid']!r}") from None
    attr = raw["attr"]
    if isinstance(attr, bool) or not isinstance(attr, int) or not 0 <= attr <= 0xFFFFFFFF:
        raise _field_error(index, "attr", "must be an integer from 0 to 0xFFFFFFFF")
    data = _hex(index, "data", raw["data"])
    timestamp = None
    for key in ("time", "timestamp"):
        if key in raw:
            value = _hex(index, key, raw[key])
            if len(value) != EFI_TIME_SIZE:
                raise _field_error(index, key, f"must be {EFI_TIME_SIZE} bytes (32 hex digits)")
            timestamp = EfiTime.from_bytes(value)
    digest = _hex(index, "digest", raw["digest"]) if "digest" in raw else None
    return Variable(name, guid, Attributes(attr), data, timestamp, digest)


def _is_subsequence(short: Sequence[str], long: Sequence[str]) -> bool:
    it = iter(long)
    return all(key in it for key in short)


def _merged_member_order(variables: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The member order the file uses; a known writer's full order where it fits."""
    order: list[str] = []
    for raw in variables:
        previous = -1
        for key in raw:
            if key in order:
                previous = order.index(key)
            else:
                order.insert(previous + 1, key)
                previous += 1
    for known in (QEMU_STYLE.member_order, VIRT_FW_VARS_STYLE.member_order, PYTHON_UEFIVARS_ORDER):
        if _is_subsequence(order, known):
            return known
    return tuple(order)


def _detect_style(text: str, top: object, variables: Sequence[dict[str, Any]]) -> JsonStyle:
    order = _merged_member_order(variables) or QEMU_STYLE.member_order
    time_key = "timestamp" if "timestamp" in order and "time" not in order else "time"
    at_vars = [v for v in variables if isinstance(v.get("attr"), int) and v["attr"] & AT]
    times_only_on_at = all((time_key in v) == bool(v.get("attr", 0) & AT) for v in variables)
    zero_time = "0" * 32
    has_zero_time = any(v.get(time_key) == zero_time for v in variables)
    time_for_at = times_only_on_at and (bool(at_vars) and (has_zero_time or all(time_key in v for v in at_vars)))
    for candidate in ("qemu", "python"):
        style = JsonStyle(
            member_order=order,
            time_key=time_key,
            time_for_at=time_for_at,
            omit_zero_time=not has_zero_time and not time_for_at,
            wrapped=isinstance(top, dict),
            version=int(top.get("version", 2)) if isinstance(top, dict) else 1,
            printer=candidate,
            trailing_newline=text.endswith("\n"),
        )
        if _render_text(_document(variables, style), style) == text:
            return style
    return JsonStyle(member_order=order, time_key=time_key, time_for_at=time_for_at,
                     omit_zero_time=not has_zero_time and not time_for_at,
                     wrapped=isinstance(top, dict), trailing_newline=text.endswith("\n"))


def decode(data: bytes) -> StoreDocument:
    """Parse a JSON store. Errors name the variable and member (or the byte offset of a
    JSON syntax error)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("JSON store is not UTF-8 text", exc.start) from None
    import json

    try:
        top = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                          len(text[: exc.pos].encode("utf-8"))) from None
    except RecursionError:
        raise DecodeError("JSON nested too deeply") from None
    if isinstance(top, dict):
        if "variables" not in top:
            raise DecodeError('not a variable store: no "variables" member', what="JSON store")
        variables = top["variables"]
        version = top.get("version", 2)
        if isinstance(version, bool) or not isinstance(version, int):
            raise DecodeError('"version" must be an integer', what="JSON store")
    elif isinstance(top, list):
        variables = top
    else:
        raise DecodeError("not a variable store: expected an object or a list", what="JSON store")
    if not isinstance(variables, list):
        raise DecodeError('"variables" must be a list', what="JSON store")
    store = VarStore()
    for index, raw in enumerate(variables):
        var = _variable(index, raw)
        if var.key in store:
            raise DecodeError(f"variable {var.name!r} ({var.guid}) appears twice", what=f"variables[{index}]")
        store.set(var)
    style = _detect_style(text, top, variables)
    return StoreDocument(StoreFormat.JSON, store, JsonOrigin(style, bytes(data), store.copy()))


# --- encoding ------------------------------------------------------------------------


def _members(var: Variable, style: JsonStyle) -> dict[str, object]:
    if not var.name.isascii():
        raise EncodeError(
            f"variable name {var.name!r} has non-ASCII characters; QEMU's JSON store keeps names "
            "as ASCII and would turn them into '?', so it cannot be written as QEMU JSON"
        )
    values: dict[str, object] = {
        "name": var.name,
        "guid": str(var.guid),
        "attr": int(var.attributes) & ~int(AP),
        "data": var.data.hex(),
    }
    if style.time_for_at:
        if var.attributes & AT:
            values[style.time_key] = (var.timestamp or ZERO_TIME).to_bytes().hex()
    elif var.timestamp is not None and not (style.omit_zero_time and var.timestamp.is_zero):
        values[style.time_key] = var.timestamp.to_bytes().hex()
    if var.digest is not None:
        values["digest"] = var.digest.hex()
    order = style.member_order
    rank = {key: i for i, key in enumerate(order)}
    return dict(sorted(values.items(), key=lambda kv: rank.get(kv[0], len(order))))


def _document(variables: Iterable[dict[str, Any]], style: JsonStyle) -> object:
    # Used by style detection: re-emit already-parsed members through a style.
    rendered = []
    rank = {key: i for i, key in enumerate(style.member_order)}
    for raw in variables:
        rendered.append(dict(sorted(raw.items(), key=lambda kv: rank.get(kv[0], len(rank)))))
    return {"version": style.version, "variables": rendered} if style.wrapped else rendered


def _qemu_string(text: str) -> str:
    out = ['"']
    for ch in text:
        cp = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif cp > 0xFFFF:
            cp -= 0x10000
            out.append(f"\\u{0xD800 + (cp >> 10):04X}\\u{0xDC00 + (cp & 0x3FF):04X}")
        elif cp < 0x20 or cp >= 0x7F:
            out.append(f"\\u{cp:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _qemu_pretty(value: object, depth: int = 0) -> str:
    """QEMU's qobject pretty printer: containers always break lines, even when empty."""
    pad = "\n" + " " * (4 * (depth + 1))
    end = "\n" + " " * (4 * depth)
    if isinstance(value, dict):
        items = [f"{_qemu_string(k)}: {_qemu_pretty(v, depth + 1)}" for k, v in value.items()]
        return "{" + (pad + ("," + pad).join(items) if items else "") + end + "}"
    if isinstance(value, list):
        items = [_qemu_pretty(v, depth + 1) for v in value]
        return "[" + (pad + ("," + pad).join(items) if items else "") + end + "]"
    if isinstance(value, str):
        return _qemu_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise EncodeError(f"cannot write {type(value).__name__} as JSON")


def _render_text(document: object, style: JsonStyle) -> str:
    if style.printer == "qemu":
        text = _qemu_pretty(document)
    else:
        import json

        text = json.dumps(document, indent=4)
    return text + "\n" if style.trailing_newline else text


def encode(store: VarStore, origin: JsonOrigin | None = None, style: JsonStyle | None = None) -> bytes:
    """Write ``store`` as a JSON store.

    With ``origin`` (from :func:`decode`) an unchanged store gives back the original
    bytes, and a changed one is written in the original file's style; otherwise (or
    with an explicit ``style``) in QEMU's own style.
    """
    if origin is not None and style is None:
        if store == origin.store:
            return origin.raw
        style = origin.style
    style = style or QEMU_STYLE
    variables = [_members(var, style) for var in store]
    document: object = {"version": style.version, "variables": variables} if style.wrapped else variables
    return _render_text(document, style).encode("utf-8")
