"""The key-management commands: enroll, keygen, sign, verify, apply, rollover.

Each module is driven through its own ``register()``/``run()`` with a local parser (the
lead wires them into ``uefivars``); errors are turned into exit 2 as ``main`` does.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_der_x509_certificate

from uefivars_gui.cli import apply, enroll, keygen, rollover, sign, verify
from uefivars_gui.codec import registry
from uefivars_gui.core import guid as g
from uefivars_gui.core.siglist import decode_signature_database
from uefivars_gui.crypto.keys import load_private_key
from uefivars_gui.crypto.x509 import summarize
from uefivars_gui.errors import UefiVarsError

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
EMPTY_FD = DATA / "ovmf" / "OVMF_VARS_4M.fd"
SNAKEOIL_FD = DATA / "ovmf" / "OVMF_VARS_4M.snakeoil.fd"
MODULES: dict[str, ModuleType] = {
    "enroll": enroll,
    "keygen": keygen,
    "sign": sign,
    "verify": verify,
    "apply": apply,
    "rollover": rollover,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="uefivars")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in MODULES.values():
        module.register(sub)
    return parser


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    args = _parser().parse_args([str(a) for a in argv])
    assert args.handler_module == args.command
    try:
        code = MODULES[args.handler_module].run(args)
    except UefiVarsError as exc:
        out, err = capsys.readouterr()
        return 2, out, err + str(exc)
    out, err = capsys.readouterr()
    return code, out, err


def _db_names(path: Path) -> list[str]:
    store = registry.decode(path.read_bytes()).store
    var = store.get(g.EFI_IMAGE_SECURITY_DATABASE, "db")
    assert var is not None
    return [summarize(c).name for c in decode_signature_database(var.data).certificates()]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for src in (MS_FD, EMPTY_FD, SNAKEOIL_FD):
        shutil.copy(src, tmp_path / src.name)
    return tmp_path


def test_every_module_registers_its_command() -> None:
    parser = _parser()
    for name in MODULES:
        with pytest.raises(SystemExit):
            parser.parse_args([name, "--help"])


def test_keygen_enroll_sign_verify_apply(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "pass").write_text("kek-secret\n")
    assert run(capsys, "keygen", "--cn", "CLI PK", "--out", work / "pk")[0] == 0
    code, out, _ = run(
        capsys, "keygen", "--cn", "CLI KEK", "--out", work / "kek", "--passphrase-file", work / "pass"
    )
    assert code == 0 and "passphrase-protected" in out
    load_private_key((work / "kek" / "key.pem").read_bytes(), "kek-secret")
    assert run(capsys, "keygen", "--cn", "CLI db", "--out", work / "db", "--bits", "3072")[0] == 0
    code, _, err = run(capsys, "keygen", "--cn", "again", "--out", work / "pk")
    assert code == 2 and "refusing to overwrite" in err

    store = work / "OVMF_VARS_4M.fd"
    code, out, _ = run(
        capsys,
        "enroll", store,
        "--pk", work / "pk" / "cert.pem",
        "--kek", work / "kek" / "cert.der",
        "--db", work / "db" / "cert.pem",
        "--microsoft", "2023",
        "--distro", "debian", "fedora",
        "--secure-boot", "on",
    )  # fmt: skip
    assert code == 0, out
    assert "PK: + X.509 'CLI PK'" in out and "saved" in out
    assert _db_names(store) == [
        "Windows UEFI CA 2023",
        "Microsoft UEFI CA 2023",
        "Microsoft Option ROM UEFI CA 2023",
        "Debian Secure Boot CA",
        "fedoraca",
        "CLI db",
    ]
    code, out, _ = run(capsys, "enroll", store, "--microsoft", "2023")
    assert code == 0 and "nothing to change" in out

    assert run(capsys, "keygen", "--cn", "CLI new entry", "--out", work / "new")[0] == 0
    update = work / "db-append.auth"
    code, out, _ = run(
        capsys,
        "sign", "--var", "db", "--append",
        "--key", work / "kek" / "key.pem", "--cert", work / "kek" / "cert.pem",
        "--passphrase-file", work / "pass",
        "--cert-to-add", work / "new" / "cert.der",
        "-o", update, "--store", store,
    )  # fmt: skip
    assert code == 0 and "APPEND db" in out and update.exists()

    code, out, _ = run(capsys, "verify", store, update, "--var", "db", "--append")
    assert code == 0 and out.startswith("ACCEPTED") and "KEK #1 'CLI KEK'" in out
    code, out, _ = run(capsys, "verify", store, update, "--var", "db")  # signed as an append
    assert code == 1 and out.startswith("REJECTED")

    before = store.read_bytes()
    code, out, _ = run(capsys, "apply", store, update, "--var", "db", "--append", "-o", work / "out.fd")
    assert code == 0 and "saved" in out
    assert store.read_bytes() == before
    assert _db_names(work / "out.fd")[-1] == "CLI new entry"
    assert run(capsys, "apply", store, update, "--var", "db", "--append")[0] == 0
    assert _db_names(store)[-1] == "CLI new entry"

    # a SET dated before the stored db is refused by sign (with --store) and by apply
    common = ["--key", work / "pk" / "key.pem", "--cert", work / "pk" / "cert.pem", "-o", work / "old.auth"]
    code, _, err = run(
        capsys, "sign", "--var", "db", "--time", "2020-01-01T00:00:00Z",
        "--cert-to-add", work / "new" / "cert.der", "--store", store, *common,
    )  # fmt: skip
    assert code == 2 and "not later than" in err
    code, _, err = run(capsys, "sign", "--var", "db", "--esl", work / "new" / "cert.der", *common)
    assert code == 2 and "ESL" in err  # a certificate is not a signature list
    code, _, _ = run(
        capsys, "sign", "--var", "db", "--time", "2020-01-01T00:00:00Z",
        "--cert-to-add", work / "new" / "cert.der", *common,
    )  # fmt: skip
    assert code == 0
    stored = store.read_bytes()
    code, out, _ = run(capsys, "apply", store, work / "old.auth", "--var", "db")
    assert code == 1 and "older than the stored" in out and "not changed" in out
    assert store.read_bytes() == stored


def test_sign_with_pkcs12_and_a_private_variable(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "keygen", "--cn", "P12 signer", "--out", work / "s")
    key = load_private_key((work / "s" / "key.pem").read_bytes())
    cert = load_der_x509_certificate((work / "s" / "cert.der").read_bytes())
    (work / "s.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"s", key.key, cert, None, serialization.BestAvailableEncryption(b"pw")
        )
    )
    (work / "pw").write_text("pw")
    (work / "value").write_bytes(b"hello")
    code, out, _ = run(
        capsys,
        "sign", "--var", "MyAuthVar", "--guid", str(g.SHIM_LOCK), "--digest", "sha384",
        "--p12", work / "s.p12", "--passphrase-file", work / "pw",
        "--data", work / "value", "-o", work / "var.auth",
    )  # fmt: skip
    assert code == 0 and "sha384" in out
    code, out, _ = run(
        capsys,
        "apply",
        work / "OVMF_VARS_4M.ms.fd",
        work / "var.auth",
        "--var",
        "MyAuthVar",
        "--guid",
        "shim",
    )
    assert code == 0, out
    assert "signer digest is recorded" in out
    code, _, err = run(
        capsys,
        "sign",
        "--var",
        "db",
        "--key",
        work / "s" / "key.pem",
        "--data",
        work / "value",
        "-o",
        work / "x",
    )
    assert code == 2 and "--p12" in err


def test_enroll_usage_errors_and_dbx(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = work / "OVMF_VARS_4M.ms.fd"
    code, _, err = run(capsys, "enroll", store)
    assert code == 2 and "nothing to enroll" in err
    code, _, err = run(capsys, "enroll", store, "--distro", "plan9")
    assert code == 2 and "unknown distribution" in err
    digest = hashlib.sha256(b"bad shim").hexdigest()
    code, out, _ = run(
        capsys, "enroll", store, "--dbx", digest, "--owner", str(g.MICROSOFT_VENDOR), "-o", work / "o.fd"
    )
    assert code == 0 and f"dbx: + SHA-256 {digest} (owner MicrosoftVendor)" in out
    assert store.read_bytes() == MS_FD.read_bytes()


def test_rollover_cli(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rollover", "--dry-run", work)
    assert code == 0
    assert "OVMF_VARS_4M.ms.fd (edk2): would update" in out
    assert "+ X.509 'Microsoft Corporation KEK 2K CA 2023' (owner MicrosoftVendor)" in out
    assert (work / "OVMF_VARS_4M.ms.fd").read_bytes() == MS_FD.read_bytes()
    with open(work / "OVMF_VARS_4M.ms.fd", "rb"):
        code, out, _ = run(capsys, "rollover", work / "OVMF_VARS_4M.ms.fd")
    assert code == 1 and "skipped" in out
    code, out, _ = run(capsys, "rollover", work / "OVMF_VARS_4M.ms.fd")
    assert code == 0 and "updated" in out
    assert "Microsoft UEFI CA 2023" in _db_names(work / "OVMF_VARS_4M.ms.fd")


def test_real_dbx_update_through_the_cli(
    work: Path, signed_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    update = signed_dir / "DBXUpdate-amd64.bin"
    code, out, _ = run(capsys, "verify", work / "OVMF_VARS_4M.ms.fd", update, "--var", "dbx", "--append")
    assert code == 0 and "Microsoft Corporation KEK CA 2011" in out
    code, out, _ = run(
        capsys, "verify", work / "OVMF_VARS_4M.snakeoil.fd", update, "--var", "dbx", "--append"
    )
    assert code == 1
    code, out, _ = run(capsys, "enroll", work / "OVMF_VARS_4M.snakeoil.fd", "--dbx", update)
    assert code == 0 and "dbx: +" in out  # offline: a trusted edit, no signature needed
