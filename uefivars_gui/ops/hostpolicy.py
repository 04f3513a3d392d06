"""Host policies: variable policies the administrator registers before the guest's own.

A policy-set file (``docs/policy-set-format.md``: binary ``UVPOLSET`` or its JSON form)
is loaded with :func:`load_host_policies` / :func:`parse_host_policies`, checked the way
edk2 checks a registration (``IsValidVariablePolicyStructure``) plus the device's own
REGISTER rules, and put into an engine with :func:`install_host_policies`.

The engine keeps host policies apart from the guest's: it judges the host's best match
on its own before the guest's, so no guest registration can outrank or relax a host
entry — not even an exact-name entry against a host wildcard. A guest REGISTER of the
same namespace and name as a host entry is refused with EFI_ALREADY_STARTED. Host
policies survive hard resets and come first in DUMP. Like every policy they are enforced
from EndOfDxe on (edk2 and QEMU): LOCK_NOW and a locked LOCK_ON_CREATE /
LOCK_ON_VAR_STATE answer EFI_WRITE_PROTECTED, size and attribute rules
EFI_INVALID_PARAMETER.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.guid import guid_label
from ..core.policy import (
    LockPolicyType,
    VariablePolicyEntry,
    decode_policy_set,
    from_json,
    is_policy_set,
)
from ..device.engine import UefiVarsDevice
from ..device.policy import MAX_POLICY_BYTES, ucs2_valid
from ..errors import DecodeError, EncodeError, UsageError

_WHAT = "host policy set"


@dataclass(frozen=True, slots=True)
class HostPolicySet:
    """Checked host policies in registration order, with their wire encoding."""

    entries: tuple[VariablePolicyEntry, ...]
    encoded: tuple[bytes, ...]
    source: str = ""

    def warnings(self) -> list[str]:
        """Entries that do less than an administrator may expect (see the module doc)."""
        notes: list[str] = []
        for index, entry in enumerate(self.entries):
            label = f"entry {index} ({_subject(entry)})"
            if (
                entry.lock_policy_type == LockPolicyType.NO_LOCK
                and entry.min_size == 0
                and entry.max_size == 0xFFFFFFFF
                and not entry.attributes_must_have
                and not entry.attributes_cant_have
            ):
                notes.append(f"{label}: NO_LOCK without size or attribute rules restricts nothing")
        return notes


def parse_host_policies(data: bytes, source: str = "") -> HostPolicySet:
    """A policy set from the bytes of a ``UVPOLSET`` file or of its JSON form."""
    if is_policy_set(data):
        entries = decode_policy_set(data)
    elif bytes(data).lstrip()[:1] in (b"{", b"["):
        entries = from_json(bytes(data))
    else:
        raise DecodeError("neither a UVPOLSET policy-set file nor its JSON form", 0, what=_WHAT)
    return check_host_policies(entries, source)


def load_host_policies(path: str | os.PathLike[str]) -> HostPolicySet:
    """:func:`parse_host_policies` of a file; UsageError if it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the host policy set {os.fspath(path)}: {exc.strerror or exc}") from exc
    return parse_host_policies(data, os.fspath(path))


def check_host_policies(entries: tuple[VariablePolicyEntry, ...], source: str = "") -> HostPolicySet:
    """Refuse what edk2 or the device would refuse to register; DecodeError says which entry."""
    what = f"{_WHAT} {source}".strip()
    encoded: list[bytes] = []
    seen: dict[tuple[object, str | None], int] = {}
    for index, entry in enumerate(entries):
        label = f"entry {index} ({_subject(entry)})"
        problems = entry.validate()
        if problems:
            raise DecodeError(f"{label}: " + "; ".join(problems), what=what)
        try:
            raw = entry.encode()
        except EncodeError as exc:
            raise DecodeError(f"{label}: {exc}", what=what) from exc
        names = [entry.name]
        if entry.lock_on_var_state is not None:
            names.append(entry.lock_on_var_state.name)
        for name in names:
            if name is not None and not ucs2_valid(name.encode("utf-16-le", "surrogatepass"), False):
                raise DecodeError(
                    f"{label}: the name needs UTF-16 surrogates, which the device refuses", what=what
                )
        key = (entry.namespace, entry.name)
        if key in seen:
            raise DecodeError(
                f"{label}: the same namespace and name as entry {seen[key]} "
                "(the device would refuse it with EFI_ALREADY_STARTED)",
                what=what,
            )
        seen[key] = index
        encoded.append(raw)
    total = sum(map(len, encoded))
    if total > MAX_POLICY_BYTES:
        raise DecodeError(
            f"the entries take {total} bytes; the device holds at most {MAX_POLICY_BYTES}", what=what
        )
    return HostPolicySet(tuple(entries), tuple(encoded), source)


def install_host_policies(device: UefiVarsDevice, policies: HostPolicySet) -> None:
    """Give ``device`` the administrator's policies. The engine judges them on their own,
    before the guest's (no guest registration can outrank them), keeps them across hard
    resets and lists them first in DUMP."""
    device.policies.set_host_policies(policies.encoded)


def _subject(entry: VariablePolicyEntry) -> str:
    name = "*" if entry.name is None else entry.name
    return f"{name} in {guid_label(entry.namespace)}"
