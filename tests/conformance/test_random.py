"""Randomised request sequences (hypothesis, derandomised): engine vs QEMU 10.0.2.

One QEMU per flavour and mode serves every example of this module. Between examples
QEMU is brought back to the starting store by the guest itself (reset, delete every
variable, re-create the store's variables, reset) and checked against the starting JSON;
only if that fails is QEMU restarted. The engine is simply rebuilt.

The operations draw from the whole protocol: variable functions with lying sizes and odd
names, authenticated writes with fake signatures, policies, boot events, unknown
functions and headers, and platform resets. A second test starts in user mode (keys of
our own enrolled by the guest) and mixes really signed updates in.

Left out, because QEMU 10.0.2 crashes on them (SIGSEGV): an auth header with dwLength < 24
and a valid revision where a signature is checked, an empty CertData for a private
authenticated variable, and PIO requests within 24 bytes of the buffer end (A7).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from uuid import UUID

import pytest
from conftest import COMBO_IDS, COMBOS, SMALL_STORE, Mode, engine_store, start_engine, start_qemu
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sequences import (
    APPEND,
    AT,
    EFI_SUCCESS,
    LOCK_ON_VAR_STATE,
    NV,
    POLICY_DUMP,
    RT,
    TALLY,
    UNKNOWN_HEADER,
    VENDOR,
    VENDOR2,
    Pair,
    QemuSide,
    Request,
    Side,
    Signer,
    VarState,
    auth2,
    delete_variable,
    efi_time,
    end_of_dxe,
    esl_sha256,
    esl_x509,
    event,
    exchange,
    exit_boot_services,
    get_next,
    get_variable,
    lock_variable,
    mm,
    payload_size,
    policy_call,
    policy_entry,
    query_info,
    register_policy,
    set_variable,
    signed_write,
    ucs2,
    var_call,
)

from uefivars_gui.core.guid import (
    CUSTOM_MODE_ENABLE,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    EVENT_READY_TO_BOOT,
    MEMORY_TYPE_INFORMATION,
    SECURE_BOOT_ENABLE_DISABLE,
)
from uefivars_gui.live.qtest import QemuError, QemuQtest

pytestmark = pytest.mark.qemu

EXAMPLES_PER_COMBO = 75
USER_MODE_EXAMPLES_PER_COMBO = 40
G, DB = EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE
CERTS = Path(__file__).resolve().parents[1] / "data" / "certs"
CERT_A = (CERTS / "ms-kek-ca-2011.der").read_bytes()
CERT_B = (CERTS / "ms-uefi-ca-2023.der").read_bytes()

NAMES: list[tuple[str, UUID]] = [
    ("PK", G),
    ("KEK", G),
    ("db", DB),
    ("dbx", DB),
    ("CustomMode", CUSTOM_MODE_ENABLE),
    ("SetupMode", G),
    ("SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE),
    ("SecureBoot", G),
    ("VendorKeysNv", G),
    ("MemoryTypeInformation", MEMORY_TYPE_INFORMATION),
    ("Timeout", G),
    ("Boot0000", G),
    ("Boot00A2", G),
    ("Foo", VENDOR),
    ("Bar", VENDOR),
    ("BsOnly", VENDOR),
    ("RtOnly", VENDOR),
    ("", VENDOR),
    ("Other", VENDOR2),
]
SECURE_BOOT = {("PK", G), ("KEK", G), ("db", DB), ("dbx", DB)}


@dataclass(frozen=True)
class Reset:
    """A platform reset (QMP system_reset / hard_reset), then firmware re-programs the device."""

    def __repr__(self) -> str:
        return "<platform reset>"


@dataclass(frozen=True)
class Signed:
    """A really signed update, built at run time with the module's keys (user-mode runs).

    Appends are dated 2099, never before what is stored (difference 2 would end the run).
    """

    name: str
    signer: str
    append: bool
    payload: int
    year: int

    def request(self, keys: Keys) -> Request:
        guid = VENDOR2 if self.name == "Private" else (DB if self.name.startswith("db") else G)
        attrs = 0x27 | (APPEND if self.append else 0)
        payload = [
            b"",
            esl_x509(CERT_A),
            esl_x509(keys.other.cert),
            esl_sha256([bytes([self.year & 0xFF]) * 32]),
            b"private data",
        ][self.payload]
        stamp = efi_time(2099 if self.append else self.year)
        data = signed_write(self.name, guid, attrs, stamp, payload, getattr(keys, self.signer))
        return set_variable(self.name, guid, attrs, data, label=f"signed {self!r}")


@dataclass(frozen=True)
class Keys:
    pk: Signer
    kek: Signer
    db: Signer
    other: Signer


Op = Request | Reset | Signed

names = st.sampled_from(NAMES)


@st.composite
def raw_names(draw: st.DrawFn, name: str) -> tuple[bytes | None, str]:
    """The name as sent: clean, junk after the NUL, or without NUL (non-zero bytes after)."""
    kind = draw(st.sampled_from(["clean"] * 8 + ["zeros-after", "junk-after", "unterminated"]))
    if kind == "zeros-after":
        return ucs2(name) + b"\0\0", kind
    if kind == "junk-after":
        return ucs2(name) + b"A\0", kind
    if kind == "unterminated":
        return (name or "X").encode("utf-16-le"), kind
    return None, kind


#: What a DataSize-0 write would delete unauthenticated in user mode (difference 8).
AUTHENTICATED = SECURE_BOOT | {("VendorKeysNv", G), ("Private", VENDOR2)}


@st.composite
def set_ops(draw: st.DrawFn, user_mode: bool = False) -> Request:
    name, guid = draw(names)
    raw, kind = draw(raw_names(name))
    attrs = draw(
        st.sampled_from([7, 7, 7, 3, 6, 2, 0, 1, 5, 4, 0x27, 0x27, 0x23, 0x67, 0x47, 0x0F, 0x17, 0x87])
    )
    if attrs & AT:
        payload = draw(
            st.sampled_from([b"", esl_x509(CERT_A), esl_x509(CERT_B), esl_sha256([b"\1" * 32]), b"junk"])
        )
        year = 2099 if attrs & APPEND else draw(st.sampled_from([2020, 2024, 2030]))  # no older appends (2)
        stamp = efi_time(year, draw(st.integers(1, 2)))
        private = (name, guid) not in SECURE_BOOT
        cert = draw(
            st.sampled_from([b"\x30\x82\x00\x10" + bytes(16), b"\x01" * 40] + ([] if private else [b""]))
        )
        header = draw(st.sampled_from(["good"] * 6 + ["bad-revision", "short-bad-revision", "truncated"]))
        if header == "bad-revision":
            data = auth2(stamp, cert, payload, revision=0x0100)
        elif header == "short-bad-revision":  # difference 3, safe on 10.0.2 (no signature checked)
            data = auth2(stamp, cert, payload, revision=0x0100, dw_length=draw(st.sampled_from([0, 8, 23])))
        elif header == "truncated":
            data = auth2(stamp, cert, payload)[: draw(st.integers(0, 39))]
        else:
            data = auth2(stamp, cert, payload)
    else:
        data = draw(st.sampled_from([b"", b"\x00", b"\x01", b"\x02\x00", b"value", bytes(40), b"\xff" * 300]))
        if user_mode and not data and (name, guid) in AUTHENTICATED:
            data = b"\x01"  # an unauthenticated delete would end the run (difference 8)
    if kind == "unterminated":  # non-zero bytes behind the name, so QEMU 10.0.2 refuses it too (5)
        data = data + b"\x41" * (len(raw or b"") + 2) if data else b""
        if not data:
            return set_variable(name, guid, attrs, b"\x41" * 8, raw_name=raw)
    request = set_variable(name, guid, attrs, data, raw_name=raw)
    if draw(st.integers(0, 19)) == 0:  # MessageLength short by a few bytes
        return Request(
            request.header, request.message, request.message_length - draw(st.integers(1, 8)), request.label
        )
    return request


@st.composite
def get_ops(draw: st.DrawFn) -> Request:
    name, guid = draw(names)
    raw, kind = draw(raw_names(name))
    size = draw(st.sampled_from([0, 1, 2, 4, 64, 300, 4096]))
    if kind == "unterminated":
        return get_variable(
            name, guid, size, raw_name=(raw or b"") + b"\x41\x00" * 4, name_size=len(raw or b"")
        )
    request = get_variable(name, guid, size, raw_name=raw, room=min(size, 300))
    if draw(st.integers(0, 9)) == 0:
        return Request(
            request.header, request.message, request.message_length - draw(st.integers(1, 12)), request.label
        )
    return request


@st.composite
def next_ops(draw: st.DrawFn) -> Request:
    if draw(st.booleans()):
        return get_next("", UUID(int=0), draw(st.sampled_from([2, 8, 128])))
    name, guid = draw(names)
    return get_next(name, guid, draw(st.sampled_from([2, 4, 8, 64, 128])))


@st.composite
def policy_ops(draw: st.DrawFn) -> Request:
    command = draw(st.sampled_from(["register"] * 6 + ["is_enabled", "disable", "lock", "dump", "unknown"]))
    if command == "register":
        lock_type = draw(st.sampled_from([0, 1, 1, 2, 3]))
        name = draw(st.sampled_from(["Foo", "Bar", "Boot####", "Boot00#2", "Timeout", "Other", None]))
        state = None
        layout: Literal["edk2", "qemu"] = "edk2"
        if lock_type == LOCK_ON_VAR_STATE:
            state = VarState(
                VENDOR2, draw(st.sampled_from(["Other", "Foo"])), draw(st.sampled_from([1, 0x41]))
            )
            layout = draw(st.sampled_from(["edk2", "qemu"]))
        entry = policy_entry(
            draw(st.sampled_from([VENDOR, G, VENDOR2])),
            name,
            min_size=draw(st.sampled_from([0, 0, 2])),
            max_size=draw(st.sampled_from([0xFFFFFFFF, 0xFFFFFFFF, 3])),
            must=draw(st.sampled_from([0, 0, NV, RT])),
            cant=draw(st.sampled_from([0, 0, APPEND, RT, AT])),
            lock_type=lock_type,
            state=state,
            layout=layout,
        )
        return register_policy(entry)
    if command == "is_enabled":
        return policy_call(2, total=draw(st.sampled_from([20, 21, 24])))
    if command == "disable":
        return policy_call(1)
    if command == "lock":
        return policy_call(5)
    if command == "dump":
        return policy_call(POLICY_DUMP, bytes(13), total=draw(st.sampled_from([20, 33, 100])))
    return policy_call(draw(st.sampled_from([0, 6, 77])), bytes(4))


@st.composite
def misc_ops(draw: st.DrawFn) -> Op:
    kind = draw(
        st.sampled_from(
            [
                "query",
                "payload",
                "lock",
                "unknown",
                "rtb",
                "end_of_dxe",
                "end_of_dxe",
                "ebs",
                "header",
                "reset",
            ]
        )
    )
    if kind == "query":
        return query_info(draw(st.sampled_from([7, 3, 0x27, 0x0F])), size=draw(st.sampled_from([0, 28, 32])))
    if kind == "payload":
        return payload_size()
    if kind == "lock":
        name, guid = draw(names)
        return lock_variable(name, guid)
    if kind == "unknown":
        function = draw(st.sampled_from([0, 7, 9, 10, 12, 13, 14, 99]))
        return var_call(
            function, bytes(draw(st.sampled_from([0, 8, 40]))), status=draw(st.sampled_from([0, 7]))
        )
    if kind == "rtb":
        if draw(st.booleans()):
            return var_call(5, status=draw(st.sampled_from([0, 0x8000000000000003])))
        return event(EVENT_READY_TO_BOOT)
    if kind == "end_of_dxe":
        return end_of_dxe()
    if kind == "ebs":
        if draw(st.booleans()):
            return var_call(6, status=draw(st.sampled_from([0, 9])))
        return exit_boot_services()
    if kind == "header":
        return mm(UNKNOWN_HEADER, bytes(draw(st.integers(0, 8))))
    return Reset()


@st.composite
def signed_ops(draw: st.DrawFn) -> Signed:
    name = draw(st.sampled_from(["db", "db", "dbx", "KEK", "PK", "Private"]))
    signers = {"PK": ["pk", "kek"], "KEK": ["pk", "pk", "other"], "Private": ["db", "other"]}
    signer = draw(st.sampled_from(signers.get(name, ["kek", "kek", "db", "other"])))  # never PK for db (15)
    append = name != "Private" and draw(st.booleans())
    payload = draw(st.sampled_from([4] if name == "Private" else [0, 1, 2, 3, 3]))
    if name == "PK" and payload in (0, 3):
        payload = 2  # deleting the PK or an unusable PK would only leave setup mode
    return Signed(name, signer, append, payload, draw(st.sampled_from([2020, 2024, 2030, 2050])))


operations = st.one_of(set_ops(), set_ops(), get_ops(), get_ops(), next_ops(), policy_ops(), misc_ops())
sequences_ = st.lists(operations, min_size=4, max_size=40)
user_operations = st.one_of(
    signed_ops(), signed_ops(), set_ops(True), get_ops(), next_ops(), policy_ops(), misc_ops()
)
user_sequences = st.lists(user_operations, min_size=4, max_size=30)


# --- the harness ------------------------------------------------------------------------


class Harness:
    """One QEMU reused across examples, and a fresh engine per example."""

    def __init__(
        self, arch: str, mode: Mode, workdir: Path, store: Path, setup: Callable[[Side], None] | None = None
    ) -> None:
        self.setup = setup
        self.arch = arch
        self.mode = mode
        self.workdir = workdir
        self.store = store
        self.qemu_side: QemuSide | None = None
        self.baseline_json = b""
        self.baseline_names: list[bytes] = []
        self.started: list[QemuQtest] = []
        self.restarts = 0

    def __repr__(self) -> str:
        return f"<QEMU {self.arch} {self.mode}, {self.restarts} restarts>"

    def start_qemu(self) -> None:
        if self.qemu_side is not None:
            self.qemu_side.qemu.close()
        self.qemu_side = start_qemu(
            self.arch, self.mode, self.store, self.workdir / f"q{len(self.started)}", started=self.started
        )
        self.prepare(self.qemu_side)
        self.baseline_json = self.qemu_side.store_json()
        self.baseline_names = self._walk(self.qemu_side)

    def prepare(self, side: Side) -> None:
        """The guest-made part of the starting state (key enrollment), then a reset."""
        if self.setup is not None:
            self.setup(side)
            side.reset()

    def close(self) -> None:
        for qemu in self.started:
            qemu.close()

    @staticmethod
    def _walk(side: QemuSide) -> list[bytes]:
        """Raw GetNext replies (GUID, NameSize, name) until the end or an empty name."""
        out: list[bytes] = []
        name, guid = "", UUID(int=0)
        for _ in range(200):
            reply = exchange(side, get_next(name, guid, 128))
            if reply.status != EFI_SUCCESS:
                break
            size = reply.u64(56) or 0
            raw = reply.reply[64 : 64 + size]
            out.append(reply.reply[40:64] + raw)
            guid = UUID(bytes_le=reply.reply[40:56])
            name = raw.decode("utf-16-le", "replace").split("\0")[0]
            if not name:
                break
        return out

    def _delete_visible(self, side: QemuSide) -> None:
        for _ in range(5):
            entries = self._walk(side)
            if not entries:
                return
            for entry in entries:
                guid = UUID(bytes_le=entry[:16])
                name = entry[24:].decode("utf-16-le", "replace").split("\0")[0]
                exchange(side, delete_variable(name, guid))

    def restore_qemu(self) -> bool:
        """Bring QEMU back to the starting store through the guest interface."""
        side = self.qemu_side
        assert side is not None
        side.reset()
        self._delete_visible(side)
        exchange(side, exit_boot_services())
        self._delete_visible(side)
        side.reset()
        runtime = False
        for var in engine_store(self.store):
            if var.key in ((CUSTOM_MODE_ENABLE, "CustomMode"), (G, "VendorKeysNv")):
                continue  # re-created by every reset
            if not var.attributes & 0x02 and not runtime:
                exchange(side, exit_boot_services())
                runtime = True
            exchange(side, set_variable(var.name, var.guid, int(var.attributes), var.data))
        side.reset()
        self.prepare(side)
        return side.store_json() == self.baseline_json and self._walk(side) == self.baseline_names

    def begin(self) -> Pair:
        """A pair at the starting state: restored (or restarted) QEMU, fresh engine."""
        if self.qemu_side is None or not self.qemu_side.qemu.running:
            self.start_qemu()
        else:
            try:
                restored = self.restore_qemu()
            except QemuError:
                restored = False
            if not restored:
                self.restarts += 1
                TALLY["random: QEMU restarts"] += 1
                self.start_qemu()
        assert self.qemu_side is not None
        engine = start_engine(self.arch, self.mode, self.store)
        self.prepare(engine)
        return Pair(engine, self.qemu_side, self.mode, f"{self.arch}-{self.mode}")


@pytest.fixture(scope="module")
def harnesses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Harness]]:
    made: dict[tuple[str, str], Harness] = {}
    for arch, mode in COMBOS:
        made[(arch, mode)] = Harness(
            arch, mode, tmp_path_factory.mktemp(f"random-{arch}-{mode}"), SMALL_STORE
        )
    yield made
    for harness in made.values():
        harness.close()


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        Signer.generate("Random PK"),
        Signer.generate("Random KEK"),
        Signer.generate("Random db"),
        Signer.generate("Random stranger"),
    )


def enroll(keys: Keys) -> Callable[[Side], None]:
    """Setup mode -> user mode: KEK and db unsigned, the PK self-signed (all dated 2024)."""

    def run(side: Side) -> None:
        stamp = efi_time(2024)
        writes = [
            set_variable("KEK", G, 0x27, auth2(stamp, b"", esl_x509(keys.kek.cert))),
            set_variable("db", DB, 0x27, auth2(stamp, b"", esl_x509(keys.db.cert))),
            set_variable("PK", G, 0x27, signed_write("PK", G, 0x27, stamp, esl_x509(keys.pk.cert), keys.pk)),
        ]
        for request in writes:
            if exchange(side, request).status != EFI_SUCCESS:
                raise AssertionError(f"{side.name}: enrollment step {request!r} failed")

    return run


@pytest.fixture(scope="module")
def user_harnesses(
    tmp_path_factory: pytest.TempPathFactory, keys: Keys
) -> Iterator[dict[tuple[str, str], Harness]]:
    made: dict[tuple[str, str], Harness] = {}
    for arch, mode in COMBOS:
        workdir = tmp_path_factory.mktemp(f"random-user-{arch}-{mode}")
        made[(arch, mode)] = Harness(arch, mode, workdir, SMALL_STORE, enroll(keys))
    yield made
    for harness in made.values():
        harness.close()


def run_sequence(pair: Pair, ops: list[Op], keys: Keys | None = None) -> None:
    """Run the operations; stop comparing once a documented difference changed the state."""
    ebs = False
    for op in ops:
        if isinstance(op, Reset):
            pair.reset()
            ebs = False
            continue
        signed = isinstance(op, Signed)
        if isinstance(op, Signed):
            assert keys is not None
            op = op.request(keys)
        step = pair.send(op)
        if signed and step.ours.status == EFI_SUCCESS:
            TALLY["random: signed updates accepted"] += 1
        TALLY["random: operations"] += 1
        if pair.diverged:
            TALLY["random: sequences ended by a state-changing documented difference"] += 1
            return
        ebs = ebs or pair.device.exit_boot_service
    pair.compare_stores()
    pair.same(query_info())
    if not ebs:
        pair.enumerate()
    TALLY["random: sequences"] += 1


@pytest.mark.parametrize("combo", COMBOS, ids=COMBO_IDS)
@settings(
    max_examples=EXAMPLES_PER_COMBO,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
@given(ops=sequences_)
def test_random_sequences(
    harnesses: dict[tuple[str, str], Harness], combo: tuple[str, Mode], ops: list[Op]
) -> None:
    run_sequence(harnesses[combo].begin(), ops)


@pytest.mark.parametrize("combo", COMBOS, ids=COMBO_IDS)
@settings(
    max_examples=USER_MODE_EXAMPLES_PER_COMBO,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
@given(ops=user_sequences)
def test_random_sequences_in_user_mode(
    user_harnesses: dict[tuple[str, str], Harness], keys: Keys, combo: tuple[str, Mode], ops: list[Op]
) -> None:
    """User mode with keys of our own: real signatures among the random requests."""
    pair = user_harnesses[combo].begin()
    assert not pair.device.setup_mode
    run_sequence(pair, ops, keys)
