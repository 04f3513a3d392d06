""" "Would this write be allowed?" — a policy set asked through the device engine's check.

:func:`check_write` puts a policy set (the entries of a ``UVPOLSET`` file or its JSON
form, ``docs/policy-set-format.md``) into the device engine's
:class:`~uefivars_gui.device.policy.PolicyEngine` as host policies — what ``uefivars
serve --policies`` does — and asks its SetVariable check about one write: namespace,
name, attributes, data size, whether the variable exists, and the boot phase (policies
are enforced from EndOfDxe on). The answer is the engine's EFI status, the entry that
decided and why, so what the tester says and what the device does cannot differ.

Entries the device would refuse to register (what :meth:`VariablePolicyEntry.validate`
lists, names with UTF-16 surrogates, a second entry for the same namespace and name) are
left out, as a REGISTER would leave them out, and reported in :attr:`WriteVerdict.skipped`.

For LOCK_ON_VAR_STATE the state variable is looked up in ``variables`` (e.g. the open
store) the way the engine looks it up: a variable without data does not exist; without a
store no state variable exists and such a lock never applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from ..core.attributes import format_attributes
from ..core.guid import guid_label
from ..core.policy import VariablePolicyEntry
from ..core.store import VarStore
from ..core.ucs2 import encode_ucs2
from ..core.variable import Variable
from ..device.policy import Policy, PolicyEngine, RawFinder, ucs2_valid
from ..device.status import EfiStatus
from ..device.variables import name_up_to_nul
from ..errors import EncodeError

__all__ = ["WriteRequest", "WriteVerdict", "check_write", "registration_problems"]


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One SetVariable as the policy check sees it."""

    namespace: UUID
    name: str
    attributes: int
    data_size: int
    #: Whether the variable exists already (LOCK_ON_CREATE locks existing ones).
    exists: bool = False
    #: Policies are enforced only after EndOfDxe.
    after_end_of_dxe: bool = True


@dataclass(frozen=True, slots=True)
class WriteVerdict:
    """The engine's answer, with the entry that decided."""

    status: EfiStatus
    #: The engine's rule code (``lock-now``, ``max-size``, ...; empty when nothing refused).
    rule: str
    #: A sentence saying why.
    reason: str
    #: Index (in the given entries) of the entry the engine matched, or None.
    index: int | None
    entry: VariablePolicyEntry | None
    #: Entries left out because the device would not register them: ``entry N: why``.
    skipped: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.status == EfiStatus.SUCCESS

    @property
    def status_name(self) -> str:
        return self.status.efi_name

    def lines(self) -> list[str]:
        out = [f"{self.status_name}: {self.reason}"]
        if self.entry is not None and self.index is not None:
            out.append(f"matching policy: entry {self.index}: {self.entry.explain()}")
        out.extend(f"not registered: {text}" for text in self.skipped)
        return out


def _registrable(entries: Sequence[VariablePolicyEntry]) -> tuple[list[tuple[int, bytes]], list[str]]:
    """(index, encoded entry) of what REGISTER would accept, and why the rest would not."""
    accepted: list[tuple[int, bytes]] = []
    skipped: list[str] = []
    seen: dict[tuple[UUID, str | None], int] = {}
    for index, entry in enumerate(entries):
        problems = list(entry.validate())
        for text in (entry.name, entry.lock_on_var_state.name if entry.lock_on_var_state else None):
            if text is not None and not ucs2_valid(text.encode("utf-16-le", "surrogatepass"), False):
                problems.append("a name needs UTF-16 surrogates, which the device refuses")
        key = (entry.namespace, entry.name)
        if not problems and key in seen:
            problems.append(f"the same namespace and name as entry {seen[key]} (EFI_ALREADY_STARTED)")
        raw = b""
        if not problems:
            try:
                raw = entry.encode()
            except EncodeError as exc:
                problems.append(str(exc))
        if problems:
            skipped.append(f"entry {index}: " + "; ".join(problems))
            continue
        seen[key] = index
        accepted.append((index, raw))
    return accepted, skipped


def registration_problems(entries: Sequence[VariablePolicyEntry]) -> list[str]:
    """``entry N: why`` for every entry the device would refuse to register (empty: all fine)."""
    return _registrable(entries)[1]


def _finder(variables: VarStore | None) -> RawFinder:
    def find(guid: UUID, raw_name: bytes) -> Variable | None:
        if variables is None:
            return None
        var = variables.get(guid, name_up_to_nul(raw_name))
        return var if var is not None and var.data else None

    return find


def _explain(
    status: EfiStatus,
    rule: str,
    entry: VariablePolicyEntry | None,
    index: int | None,
    request: WriteRequest,
    variables: VarStore | None,
) -> str:
    subject = f"{request.name} in {guid_label(request.namespace)}"
    which = f"entry {index}" if index is not None else "the matching entry"
    if entry is None:
        if not request.after_end_of_dxe:
            return f"before EndOfDxe no policy is enforced, and none matches {subject}"
        return f"no policy matches {subject}"
    if rule == "must-have-attr":
        missing = entry.attributes_must_have & ~request.attributes
        return f"{which} requires {format_attributes(missing)}, which {format_attributes(request.attributes)} lacks"
    if rule == "cant-have-attr":
        extra = entry.attributes_cant_have & request.attributes
        return f"{which} forbids {format_attributes(extra)}"
    if rule == "min-size":
        return f"{which} wants at least {entry.min_size} bytes, the write has {request.data_size}"
    if rule == "max-size":
        return f"{which} allows at most {entry.max_size} bytes, the write has {request.data_size}"
    if rule == "lock-now":
        return f"{which} locks {subject} from EndOfDxe on (LOCK_NOW)"
    if rule == "lock-on-create":
        return f"{which} locks {subject} once it exists, and it exists (LOCK_ON_CREATE)"
    if rule == "lock-on-var-state":
        state = entry.lock_on_var_state
        assert state is not None
        return (
            f"{which} locks {subject} while {state.name} in {guid_label(state.namespace)} is "
            f"0x{state.value:02x}, and it is (LOCK_ON_VAR_STATE)"
        )
    if not request.after_end_of_dxe:
        return f"before EndOfDxe no policy is enforced ({which} matches and would apply after EndOfDxe)"
    text = f"{which} matches and its rules are kept"
    state = entry.lock_on_var_state
    if state is not None:
        if variables is None:
            text += f" (no store given: the state variable {state.name} is taken as absent)"
        else:
            text += f" ({state.name} in {guid_label(state.namespace)} is not 0x{state.value:02x})"
    return text


def check_write(
    entries: Sequence[VariablePolicyEntry],
    request: WriteRequest,
    *,
    variables: VarStore | None = None,
) -> WriteVerdict:
    """Ask the device engine's policy check whether ``request`` would be allowed."""
    accepted, skipped = _registrable(entries)
    engine = PolicyEngine()
    engine.set_host_policies([raw for _, raw in accepted])
    index_of = {id(policy): index for policy, (index, _) in zip(engine.host, accepted, strict=True)}
    raw_name = encode_ucs2(request.name)
    verdict = engine.check(
        request.namespace,
        raw_name,
        int(request.attributes),
        int(request.data_size),
        not request.exists,
        request.after_end_of_dxe,
        _finder(variables),
    )
    policy: Policy | None = verdict.policy
    if policy is None and not request.after_end_of_dxe:
        policy = engine.best_match(request.namespace, raw_name, host=True)
    index = index_of.get(id(policy)) if policy is not None else None
    entry = entries[index] if index is not None else None
    status = EfiStatus(verdict.status)
    reason = _explain(status, verdict.reason, entry, index, request, variables)
    return WriteVerdict(status, verdict.reason, reason, index, entry, tuple(skipped))
