"""Certificate profiles, the shipped certificate files and docs/certificates.md."""

from __future__ import annotations

import fnmatch
import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

import uefivars_gui
from uefivars_gui.core.guid import MICROSOFT_VENDOR, OVMF_ENROLL_DEFAULT_KEYS
from uefivars_gui.core.siglist import check_format, decode_signature_database
from uefivars_gui.crypto.x509 import is_rsa, load_certificate_file, summarize
from uefivars_gui.errors import UsageError
from uefivars_gui.ops import profiles
from uefivars_gui.ops.profiles import CERTIFICATES, DISTROS, PROFILES

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE_CERTS = Path(uefivars_gui.__file__).parent / "resources" / "certs"
SHARED_CERTS = ROOT.parent / "shared" / "certs"


def _labels(certs: tuple[profiles.KnownCertificate, ...]) -> list[str]:
    return [c.label for c in certs]


def test_every_known_certificate_loads_and_is_labelled_by_its_cn() -> None:
    for cert in CERTIFICATES.values():
        summary = summarize(cert.der)
        assert summary.subject_cn == cert.label, cert.key
        assert is_rsa(cert.der), cert.key
        if cert.path.startswith("microsoft/"):
            assert cert.owner == MICROSOFT_VENDOR and cert.generation in ("2011", "2023")
        else:
            assert cert.owner is None


def test_certificates_live_in_the_package_and_every_file_is_known() -> None:
    root = profiles.certificates_root()
    assert Path(str(root)) == PACKAGE_CERTS
    files = {
        p.relative_to(PACKAGE_CERTS).as_posix()
        for p in PACKAGE_CERTS.rglob("*")
        if p.suffix in (".der", ".pem")
    }
    assert files == {c.path for c in CERTIFICATES.values()}


def test_package_data_patterns_cover_every_certificate() -> None:
    """The wheel gets them: pyproject's package-data globs match every file."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["uefivars_gui"]
    for path in PACKAGE_CERTS.rglob("*"):
        if path.is_file():
            relative = path.relative_to(PACKAGE_CERTS.parent.parent).as_posix()
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_shipped_files_equal_the_shared_originals() -> None:
    if not SHARED_CERTS.is_dir():
        pytest.skip(f"{SHARED_CERTS} not available: nothing to compare with")
    for cert in CERTIFICATES.values():
        original = SHARED_CERTS / cert.path
        assert original.read_bytes() == (PACKAGE_CERTS / cert.path).read_bytes(), cert.path


def test_microsoft_profiles() -> None:
    ms2011 = PROFILES["microsoft-2011"]
    assert _labels(ms2011.kek_certificates) == ["Microsoft Corporation KEK CA 2011"]
    assert _labels(ms2011.db_certificates) == [
        "Microsoft Windows Production PCA 2011",
        "Microsoft Corporation UEFI CA 2011",
    ]
    ms2023 = PROFILES["microsoft-2023"]
    assert _labels(ms2023.kek_certificates) == ["Microsoft Corporation KEK 2K CA 2023"]
    assert _labels(ms2023.db_certificates) == [
        "Windows UEFI CA 2023",
        "Microsoft UEFI CA 2023",
        "Microsoft Option ROM UEFI CA 2023",
    ]
    everything = PROFILES["microsoft-all"]
    assert set(everything.kek) == set(ms2011.kek) | set(ms2023.kek)
    assert set(everything.db) == set(ms2011.db) | set(ms2023.db)
    assert _labels(PROFILES["windows-2023"].db_certificates) == ["Windows UEFI CA 2023"]
    assert _labels(PROFILES["thirdparty-2011"].db_certificates) == ["Microsoft Corporation UEFI CA 2011"]
    assert "ms-windows-uefi-ca-2023" not in PROFILES["thirdparty"].db
    assert "ms-uefi-ca-2023" not in PROFILES["windows"].db
    for profile in PROFILES.values():
        assert profile.kek, profile.name  # every Microsoft profile brings the KEK that signs dbx updates
        for lst in (*profile.kek_lists(), *profile.db_lists()):
            assert lst.entries[0].owner == MICROSOFT_VENDOR


def test_microsoft_choices() -> None:
    assert profiles.microsoft_profile("none") is None
    assert profiles.microsoft_profile("2011") is PROFILES["microsoft-2011"]
    assert profiles.microsoft_profile("all") is PROFILES["microsoft-all"]
    assert profiles.profile("2023") is PROFILES["microsoft-2023"]
    assert profiles.profile("windows") is PROFILES["windows"]
    with pytest.raises(UsageError):
        profiles.microsoft_profile("2019")


def test_distribution_profiles() -> None:
    assert set(DISTROS) >= {"redhat", "fedora", "centos", "debian", "ubuntu"}
    assert _labels(DISTROS["debian"].db_certificates) == ["Debian Secure Boot CA"]
    assert _labels(DISTROS["redhat"].db_certificates) == [
        "Red Hat Secure Boot CA 5",
        "Red Hat Secure Boot CA 8",
    ]
    assert profiles.distro_profile("Ubuntu") is DISTROS["ubuntu"]
    with pytest.raises(UsageError, match="unknown distribution"):
        profiles.distro_profile("gentoo")
    for distro in DISTROS.values():
        assert not distro.kek
        for lst in distro.db_lists():
            assert lst.entries[0].owner == OVMF_ENROLL_DEFAULT_KEYS
    custom = DISTROS["fedora"].db_lists(MICROSOFT_VENDOR)
    assert custom[0].entries[0].owner == MICROSOFT_VENDOR
    assert "redhat-test-insecure-2012" not in {k for p in DISTROS.values() for k in p.db}


def test_profile_lists_pass_edk2_format_check() -> None:
    lists = PROFILES["microsoft-all"].kek_lists() + PROFILES["microsoft-all"].db_lists()
    for lst in lists:
        assert check_format(lst.to_bytes(), is_rsa=is_rsa) == []
        assert decode_signature_database(lst.to_bytes()).lists == (lst,)


def test_identify_and_combination() -> None:
    kek = CERTIFICATES["ms-kek-ca-2011"]
    assert profiles.identify(kek.der) is kek
    assert profiles.identify(b"nope") is None
    both = PROFILES["windows-2011"] + DISTROS["debian"]
    assert both.kek == ("ms-kek-ca-2011",)
    assert both.db == ("ms-windows-production-pca-2011", "debian-2016")


def test_matches_the_test_data_copies() -> None:
    """tests/data/certs holds a few of the same certificates (DER or PEM)."""
    data = ROOT / "tests" / "data" / "certs"
    for path in data.iterdir():
        der = load_certificate_file(path)
        assert profiles.identify(der) is not None, path.name


def _cert_table_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cert_table", ROOT / "scripts" / "cert-table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_certificate_table_matches_the_files() -> None:
    script = _cert_table_script()
    assert (ROOT / "docs" / "certificates.md").read_text("utf-8") == script.render(), (
        "docs/certificates.md is out of date: run scripts/cert-table.py"
    )
    rows = script.rows()
    assert len(rows) == len(CERTIFICATES)
    for row in rows:
        path = row[0].strip("`")
        summary = summarize(CERTIFICATES[next(k for k, c in CERTIFICATES.items() if c.path == path)].der)
        assert row[1] == summary.subject_cn and summary.sha256 in row[6] and summary.serial in row[3]
