"""Certificate profiles: which public certificates go into KEK and db.

The certificates are package data under ``uefivars_gui/resources/certs/`` (Microsoft's in
DER, distributions' in PEM), read with :mod:`importlib.resources`, so they are found the
same way in a source checkout and in an installed wheel (see ``docs/certificates.md``).

Profiles (names as ``uefivars enroll`` and the GUI offer them):

========================  ===========================  =================================================
profile                   KEK                          db
========================  ===========================  =================================================
``microsoft-2011``        KEK CA 2011                  Windows Production PCA 2011, UEFI CA 2011
``microsoft-2023``        KEK 2K CA 2023               Windows UEFI CA 2023, UEFI CA 2023,
                                                       Option ROM UEFI CA 2023
``microsoft-all``         both                         all five
``windows-2011/2023``     the KEK of that generation   only the Windows CA of that generation
``windows``               both KEKs                    both Windows CAs
``thirdparty-2011/2023``  the KEK of that generation   the third-party CA(s): UEFI CA 2011, or
                                                       UEFI CA 2023 + Option ROM UEFI CA 2023
``thirdparty``            both KEKs                    all three third-party CAs
========================  ===========================  =================================================

Microsoft entries always carry Microsoft's owner GUID (77fa9abd-…, ``MicrosoftVendor``).
Distribution profiles (``redhat``, ``fedora``, ``centos``, ``debian``, ``ubuntu`` and a
few older or special ones) add only db entries; their owner is the caller's choice
(``OvmfEnrollDefaultKeys`` by default, as OVMF's EnrollDefaultKeys and virt-firmware do).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from uuid import UUID

from ..core.guid import MICROSOFT_VENDOR, OVMF_ENROLL_DEFAULT_KEYS
from ..core.siglist import SignatureList, x509_list
from ..crypto.x509 import load_certificate_file
from ..errors import DecodeError, UsageError

__all__ = [
    "CERTIFICATES",
    "DEFAULT_DISTRO_OWNER",
    "DISTROS",
    "MICROSOFT_CHOICES",
    "PROFILES",
    "KnownCertificate",
    "Profile",
    "certificate_resource",
    "certificates_root",
    "distro_profile",
    "identify",
    "microsoft_profile",
    "profile",
]

#: Owner GUID of distribution entries unless the caller chooses another.
DEFAULT_DISTRO_OWNER = OVMF_ENROLL_DEFAULT_KEYS


@dataclass(frozen=True, slots=True)
class KnownCertificate:
    """One certificate file shipped with the package."""

    #: Short name, e.g. ``ms-kek-ca-2011``.
    key: str
    #: Path below ``resources/certs``, e.g. ``microsoft/ms-kek-ca-2011.der``.
    path: str
    #: The subject CN, for messages.
    label: str
    #: Where it belongs: ``KEK``, ``db``, ``PK``, ``PK/KEK`` or ``test only`` (in no profile).
    role: str
    #: Owner GUID for entries made from it; None means the caller chooses.
    owner: UUID | None = None
    #: ``2011`` / ``2023`` for Microsoft's certificates.
    generation: str | None = None
    #: Where the file comes from.
    provenance: str = field(default="", compare=False)

    @property
    def der(self) -> bytes:
        return _load_der(self.path)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    def signature_list(self, owner: UUID | None = None) -> SignatureList:
        """An EFI_CERT_X509 list holding this certificate (its own owner GUID wins)."""
        chosen = self.owner or owner or DEFAULT_DISTRO_OWNER
        return x509_list(self.der, chosen)


_MS = "Microsoft, byte-identical to Microsoft's published certificate (via virt-firmware 26.10 package data)"
_VFW = "virt-firmware 26.10 package data ({domain})"


def _ms(key: str, label: str, role: str, generation: str) -> KnownCertificate:
    return KnownCertificate(
        key, f"microsoft/{key}.der", label, role, MICROSOFT_VENDOR, generation, provenance=_MS
    )


def _distro(domain: str, key: str, label: str, role: str = "db") -> KnownCertificate:
    return KnownCertificate(
        key, f"distro/{domain}/{key}.pem", label, role, None, None, provenance=_VFW.format(domain=domain)
    )


_ALL: tuple[KnownCertificate, ...] = (
    _ms("ms-kek-ca-2011", "Microsoft Corporation KEK CA 2011", "KEK", "2011"),
    _ms("ms-windows-production-pca-2011", "Microsoft Windows Production PCA 2011", "db", "2011"),
    _ms("ms-uefi-ca-2011", "Microsoft Corporation UEFI CA 2011", "db", "2011"),
    _ms("ms-kek-2k-ca-2023", "Microsoft Corporation KEK 2K CA 2023", "KEK", "2023"),
    _ms("ms-windows-uefi-ca-2023", "Windows UEFI CA 2023", "db", "2023"),
    _ms("ms-uefi-ca-2023", "Microsoft UEFI CA 2023", "db", "2023"),
    _ms("ms-option-rom-uefi-ca-2023", "Microsoft Option ROM UEFI CA 2023", "db", "2023"),
    _ms("ms-windows-oem-devices-pk", "Windows OEM Devices PK", "PK", "2023"),
    _distro("redhat.com", "redhat-2014", "Red Hat Secure Boot (CA key 1)"),
    _distro("redhat.com", "redhat-2020", "Red Hat Secure Boot CA 5"),
    _distro("redhat.com", "redhat-2023", "Red Hat Secure Boot CA 8"),
    _distro("redhat.com", "rh-uefi-2024", "Red Hat UEFI CA 2024"),
    _distro("redhat.com", "rh-pk-kek-2014", "Red Hat Secure Boot (PK/KEK key 1)", "PK/KEK"),
    _distro("redhat.com", "redhat-test-insecure-2012", "Red Hat Test Certifying CA", "test only"),
    _distro("fedoraproject.org", "fedora-2020", "fedoraca"),
    _distro("centos.org", "centos-2018", "CentOS Secure Boot (CA key 1)"),
    _distro("centos.org", "centos-2020", "CentOS Secure Boot CA 2"),
    _distro("centos.org", "centos-2025", "CentOS Secure Boot CA 8"),
    _distro("debian.org", "debian-2016", "Debian Secure Boot CA"),
    _distro("ubuntu.com", "ubuntu-2012", "Canonical Ltd. Master Certificate Authority"),
)

#: Every shipped certificate by its short name.
CERTIFICATES: dict[str, KnownCertificate] = {c.key: c for c in _ALL}


def certificates_root() -> Traversable:
    """``resources/certs`` of the installed package."""
    return resources.files("uefivars_gui").joinpath("resources", "certs")


def certificate_resource(path: str) -> Traversable:
    """A file below ``resources/certs`` (``microsoft/ms-kek-ca-2011.der``)."""
    node = certificates_root()
    for part in path.split("/"):
        node = node.joinpath(part)
    return node


@cache
def _load_der(path: str) -> bytes:
    resource = certificate_resource(path)
    try:
        data = resource.read_bytes()
    except OSError as exc:
        raise DecodeError(f"shipped certificate {path} cannot be read: {exc}", what="certificate") from None
    return load_certificate_file(data)


@cache
def _by_fingerprint() -> dict[bytes, KnownCertificate]:
    return {hashlib.sha256(c.der).digest(): c for c in _ALL}


def identify(der: bytes) -> KnownCertificate | None:
    """The shipped certificate with exactly these DER bytes, if any."""
    return _by_fingerprint().get(hashlib.sha256(bytes(der)).digest())


@dataclass(frozen=True, slots=True)
class Profile:
    """A set of certificates for KEK and db."""

    name: str
    description: str
    kek: tuple[str, ...] = ()
    db: tuple[str, ...] = ()

    @property
    def kek_certificates(self) -> tuple[KnownCertificate, ...]:
        return tuple(CERTIFICATES[k] for k in self.kek)

    @property
    def db_certificates(self) -> tuple[KnownCertificate, ...]:
        return tuple(CERTIFICATES[k] for k in self.db)

    def kek_lists(self, owner: UUID | None = None) -> tuple[SignatureList, ...]:
        """One X.509 list per KEK certificate (Microsoft's owner for Microsoft's)."""
        return tuple(c.signature_list(owner) for c in self.kek_certificates)

    def db_lists(self, owner: UUID | None = None) -> tuple[SignatureList, ...]:
        return tuple(c.signature_list(owner) for c in self.db_certificates)

    def __add__(self, other: Profile) -> Profile:
        kek = self.kek + tuple(k for k in other.kek if k not in self.kek)
        db = self.db + tuple(k for k in other.db if k not in self.db)
        return Profile(f"{self.name}+{other.name}", f"{self.description}; {other.description}", kek, db)


_KEK_2011 = ("ms-kek-ca-2011",)
_KEK_2023 = ("ms-kek-2k-ca-2023",)
_WIN_2011 = ("ms-windows-production-pca-2011",)
_WIN_2023 = ("ms-windows-uefi-ca-2023",)
_3RD_2011 = ("ms-uefi-ca-2011",)
_3RD_2023 = ("ms-uefi-ca-2023", "ms-option-rom-uefi-ca-2023")

_MICROSOFT: tuple[Profile, ...] = (
    Profile(
        "microsoft-2011",
        "Microsoft 2011: KEK CA 2011; db Windows Production PCA 2011 and UEFI CA 2011",
        _KEK_2011,
        _WIN_2011 + _3RD_2011,
    ),
    Profile(
        "microsoft-2023",
        "Microsoft 2023: KEK 2K CA 2023; db Windows UEFI CA 2023, UEFI CA 2023, Option ROM UEFI CA 2023",
        _KEK_2023,
        _WIN_2023 + _3RD_2023,
    ),
    Profile(
        "microsoft-all",
        "Microsoft 2011 and 2023",
        _KEK_2011 + _KEK_2023,
        _WIN_2011 + _3RD_2011 + _WIN_2023 + _3RD_2023,
    ),
    Profile(
        "windows-2011",
        "Windows only, 2011: KEK CA 2011; db Windows Production PCA 2011",
        _KEK_2011,
        _WIN_2011,
    ),
    Profile(
        "windows-2023", "Windows only, 2023: KEK 2K CA 2023; db Windows UEFI CA 2023", _KEK_2023, _WIN_2023
    ),
    Profile("windows", "Windows only, 2011 and 2023", _KEK_2011 + _KEK_2023, _WIN_2011 + _WIN_2023),
    Profile(
        "thirdparty-2011",
        "Third-party only (shim, option ROMs), 2011: KEK CA 2011; db UEFI CA 2011",
        _KEK_2011,
        _3RD_2011,
    ),
    Profile(
        "thirdparty-2023",
        "Third-party only, 2023: KEK 2K CA 2023; db UEFI CA 2023 and Option ROM UEFI CA 2023",
        _KEK_2023,
        _3RD_2023,
    ),
    Profile("thirdparty", "Third-party only, 2011 and 2023", _KEK_2011 + _KEK_2023, _3RD_2011 + _3RD_2023),
)

_DISTROS: tuple[Profile, ...] = (
    Profile(
        "redhat", "Red Hat Enterprise Linux (Secure Boot CA 5 and CA 8)", (), ("redhat-2020", "redhat-2023")
    ),
    Profile("redhat-2014", "Red Hat Enterprise Linux, before the 2020 key rotation", (), ("redhat-2014",)),
    Profile("rh-uefi", "Red Hat UEFI CA 2024", (), ("rh-uefi-2024",)),
    Profile("fedora", "Fedora Linux", (), ("fedora-2020",)),
    Profile("centos", "CentOS Stream (Secure Boot CA 2 and CA 8)", (), ("centos-2020", "centos-2025")),
    Profile("centos-2018", "CentOS Stream, before the 2020 key rotation", (), ("centos-2018",)),
    Profile("debian", "Debian", (), ("debian-2016",)),
    Profile("ubuntu", "Ubuntu (Canonical Master CA)", (), ("ubuntu-2012",)),
)

#: Microsoft profiles by name.
PROFILES: dict[str, Profile] = {p.name: p for p in _MICROSOFT}
#: Distribution profiles by name.
DISTROS: dict[str, Profile] = {p.name: p for p in _DISTROS}
#: ``--microsoft`` choices and the profile each means (None: no Microsoft certificates).
MICROSOFT_CHOICES: dict[str, str | None] = {
    "2011": "microsoft-2011",
    "2023": "microsoft-2023",
    "all": "microsoft-all",
    "none": None,
}


def microsoft_profile(choice: str) -> Profile | None:
    """The profile for ``--microsoft 2011|2023|all|none`` (or a full profile name)."""
    if choice in MICROSOFT_CHOICES:
        name = MICROSOFT_CHOICES[choice]
        return PROFILES[name] if name is not None else None
    if choice in PROFILES:
        return PROFILES[choice]
    raise UsageError(
        f"unknown Microsoft profile {choice!r}; use one of {', '.join([*MICROSOFT_CHOICES, *PROFILES])}"
    )


def distro_profile(name: str) -> Profile:
    try:
        return DISTROS[name.lower()]
    except KeyError:
        raise UsageError(f"unknown distribution {name!r}; known: {', '.join(DISTROS)}") from None


def profile(name: str) -> Profile:
    """Any profile by name: Microsoft (incl. 2011/2023/all) or distribution."""
    if name in PROFILES or name in MICROSOFT_CHOICES and name != "none":
        result = microsoft_profile(name)
        assert result is not None
        return result
    return distro_profile(name)
