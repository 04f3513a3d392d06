"""keygen: RSA key + self-signed certificate, mode 0600, never overwrite a key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from uefivars_gui.crypto.keys import KeyFileExistsError, PassphraseError, load_certificate, load_private_key
from uefivars_gui.crypto.x509 import is_rsa, summarize
from uefivars_gui.errors import UsageError
from uefivars_gui.ops.keygen import CERT_DER_FILE, CERT_PEM_FILE, KEY_FILE, generate


def test_generates_key_and_certificates_in_a_new_directory(tmp_path: Path) -> None:
    target = tmp_path / "keys" / "pk"
    made = generate(target, "My Platform Key")
    assert target.is_dir()
    assert made.key_path == target / KEY_FILE
    assert stat.S_IMODE(made.key_path.stat().st_mode) == 0o600
    der = (target / CERT_DER_FILE).read_bytes()
    assert der == made.certificate == load_certificate((target / CERT_PEM_FILE).read_bytes())
    assert (target / CERT_PEM_FILE).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    key = load_private_key(made.key_path.read_bytes())
    assert key.matches_certificate(der)
    summary = summarize(der)
    assert summary.subject_cn == "My Platform Key" and summary.self_signed and summary.is_ca
    assert is_rsa(der) and summary.key_bits == 2048
    text = "\n".join(made.lines())
    assert "mode 0600" in text and summary.sha256 in text


def test_bigger_keys_and_passphrase(tmp_path: Path) -> None:
    made = generate(tmp_path / "kek", "KEK", bits=3072, passphrase="s3cret")
    assert made.summary.key_bits == 3072 and made.encrypted
    data = made.key_path.read_bytes()
    assert b"ENCRYPTED" in data
    with pytest.raises(PassphraseError):
        load_private_key(data)
    assert load_private_key(data, "s3cret").matches_certificate(made.certificate)


def test_refuses_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        generate(tmp_path / "a", "x", bits=1024)
    with pytest.raises(UsageError):
        generate(tmp_path / "b", "   ")
    with pytest.raises(UsageError):
        generate(tmp_path / "c", "x", passphrase="")
    (tmp_path / "file").write_text("not a dir")
    with pytest.raises(UsageError, match="not a directory"):
        generate(tmp_path / "file", "x")


@pytest.mark.parametrize("existing", [KEY_FILE, CERT_PEM_FILE, CERT_DER_FILE])
def test_never_overwrites(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_bytes(b"precious")
    with pytest.raises(KeyFileExistsError, match="refusing to overwrite"):
        generate(tmp_path, "Again")
    assert (tmp_path / existing).read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]  # nothing else was written


def test_a_second_run_keeps_the_first_key(tmp_path: Path) -> None:
    first = generate(tmp_path, "First")
    key = first.key_path.read_bytes()
    with pytest.raises(KeyFileExistsError):
        generate(tmp_path, "Second")
    assert first.key_path.read_bytes() == key
