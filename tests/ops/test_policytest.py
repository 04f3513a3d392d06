"""policytest: "would this write be allowed?" answered by the device engine's policy check."""

from __future__ import annotations

from uuid import UUID

from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS, NV_BS_RT, RT
from uefivars_gui.core.policy import LockOnVarState, LockPolicyType, VariablePolicyEntry
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.device.status import EfiStatus
from uefivars_gui.ops.policytest import WriteRequest, check_write

GLOBAL = g.EFI_GLOBAL_VARIABLE
VENDOR = UUID("11111111-2222-3333-4444-555555555555")


def _request(name: str = "Locked", **changes: object) -> WriteRequest:
    values: dict[str, object] = {
        "namespace": GLOBAL,
        "name": name,
        "attributes": int(NV_BS_RT),
        "data_size": 4,
        "exists": False,
        "after_end_of_dxe": True,
    }
    values.update(changes)
    return WriteRequest(**values)  # type: ignore[arg-type]


LOCK_NOW = VariablePolicyEntry(GLOBAL, "Locked", lock_policy_type=LockPolicyType.LOCK_NOW)


def test_lock_now_after_end_of_dxe_is_write_protected() -> None:
    verdict = check_write([LOCK_NOW], _request())
    assert verdict.status == EfiStatus.WRITE_PROTECTED
    assert verdict.status_name == "EFI_WRITE_PROTECTED"
    assert not verdict.allowed
    assert verdict.rule == "lock-now"
    assert verdict.index == 0 and verdict.entry == LOCK_NOW
    assert "LOCK_NOW" in verdict.reason
    assert any("matching policy: entry 0" in line for line in verdict.lines())


def test_nothing_is_enforced_before_end_of_dxe_but_the_match_is_named() -> None:
    verdict = check_write([LOCK_NOW], _request(after_end_of_dxe=False))
    assert verdict.status == EfiStatus.SUCCESS and verdict.allowed
    assert verdict.index == 0
    assert "before EndOfDxe" in verdict.reason


def test_no_match_is_success() -> None:
    verdict = check_write([LOCK_NOW], _request("Other"))
    assert verdict.allowed and verdict.entry is None
    assert "no policy matches" in verdict.reason


def test_size_and_attribute_rules_are_invalid_parameter() -> None:
    entry = VariablePolicyEntry(
        GLOBAL,
        "Boot####",
        min_size=6,
        max_size=100,
        attributes_must_have=int(NV_BS_RT),
        attributes_cant_have=0,
    )
    assert check_write([entry], _request("Boot0001", data_size=2)).rule == "min-size"
    big = check_write([entry], _request("Boot0001", data_size=200))
    assert (
        big.status == EfiStatus.INVALID_PARAMETER and big.rule == "max-size" and "at most 100" in big.reason
    )
    lacking = check_write([entry], _request("Boot0001", attributes=int(NV_BS)))
    assert lacking.rule == "must-have-attr" and "RT" in lacking.reason
    assert check_write([entry], _request("Boot0001", data_size=10)).allowed
    assert check_write([entry], _request("BootXYZ1", data_size=10)).entry is None  # # is a hex digit only
    forbidding = VariablePolicyEntry(GLOBAL, "NoRt", attributes_cant_have=int(RT))
    assert check_write([forbidding], _request("NoRt")).rule == "cant-have-attr"


def test_lock_on_create_locks_only_an_existing_variable() -> None:
    entry = VariablePolicyEntry(GLOBAL, "Once", lock_policy_type=LockPolicyType.LOCK_ON_CREATE)
    assert check_write([entry], _request("Once", exists=False)).allowed
    locked = check_write([entry], _request("Once", exists=True))
    assert locked.status == EfiStatus.WRITE_PROTECTED and locked.rule == "lock-on-create"


def test_lock_on_var_state_looks_at_the_given_store() -> None:
    entry = VariablePolicyEntry(
        VENDOR,
        None,
        lock_policy_type=LockPolicyType.LOCK_ON_VAR_STATE,
        lock_on_var_state=LockOnVarState(VENDOR, 1, "Lock"),
    )
    request = _request("Anything", namespace=VENDOR)
    assert check_write([entry], request).allowed  # no store: the state variable is absent
    store = VarStore([Variable("Lock", VENDOR, NV_BS, b"\x01")])
    locked = check_write([entry], request, variables=store)
    assert locked.status == EfiStatus.WRITE_PROTECTED and locked.rule == "lock-on-var-state"
    store.set(Variable("Lock", VENDOR, NV_BS, b"\x00"))
    assert check_write([entry], request, variables=store).allowed


def test_exact_name_beats_wildcard_and_namespace_wide() -> None:
    entries = [
        VariablePolicyEntry(GLOBAL, None, lock_policy_type=LockPolicyType.LOCK_NOW),
        VariablePolicyEntry(GLOBAL, "Boot####"),
        VariablePolicyEntry(GLOBAL, "Boot0001", lock_policy_type=LockPolicyType.LOCK_NOW),
    ]
    assert check_write(entries, _request("Boot0001")).index == 2
    assert check_write(entries, _request("Boot0002")).index == 1
    assert check_write(entries, _request("Timeout")).index == 0


def test_entries_the_device_would_refuse_are_left_out_and_reported() -> None:
    entries = [
        VariablePolicyEntry(GLOBAL, "Locked", max_size=0, lock_policy_type=LockPolicyType.LOCK_NOW),
        LOCK_NOW,
        VariablePolicyEntry(GLOBAL, "Locked"),  # duplicate namespace + name
    ]
    verdict = check_write(entries, _request())
    assert verdict.index == 1 and verdict.status == EfiStatus.WRITE_PROTECTED
    assert len(verdict.skipped) == 2
    assert verdict.skipped[0].startswith("entry 0: MaxSize is 0")
    assert verdict.skipped[1].startswith("entry 2:") and "ALREADY_STARTED" in verdict.skipped[1]


def test_registration_problems_lists_every_refused_entry() -> None:
    from uefivars_gui.ops.policytest import registration_problems

    assert registration_problems([LOCK_NOW]) == []
    problems = registration_problems(
        [LOCK_NOW, VariablePolicyEntry(GLOBAL, "Locked"), VariablePolicyEntry(GLOBAL, "X", version=2)]
    )
    assert [p.split(":")[0] for p in problems] == ["entry 1", "entry 2"]
