"""The PKCS#7 verifier the device engine uses: :class:`EngineVerifier`.

It implements :class:`uefivars_gui.device.auth.Pkcs7Verifier` structurally (``crypto``
sits below ``device`` and does not import it) on top of :func:`.pkcs7.verify` and
:func:`.pkcs7.parse_signed_data`:

* ``verify(signed_data, content, trusted_certs)`` — True when a SignerInfo verifies over
  the detached ``content`` and the chain through the embedded certificates reaches one
  of ``trusted_certs`` (partial chains allowed, validity dates ignored: edk2's
  ``Pkcs7Verify`` semantics). The CertData may be bare SignedData or ContentInfo-wrapped
  (intended difference A2). By default any digest the signature uses is accepted, as
  QEMU's GnuTLS check does; ``strict_edk2_format=True`` also demands what edk2's
  byte-level checks demand (SHA-256/384/512 at the fixed offsets).
* ``signer_certificates(signed_data)`` — every X.509 certificate of the SignedData
  ``certificates`` set, in encoded order. The engine takes index 0 as the signer and the
  last one as the root of trust of a private authenticated variable (QEMU's rule), so
  the order is that of the blob, not that of the SignerInfos.

Every ``verify`` call is recorded (:attr:`EngineVerifier.records`) with the full
:class:`~.pkcs7.VerifyResult`, so that a caller can tell *why* the engine accepted or
refused a write: which trusted certificate the chain reached, which certificates of the
chain have expired (reported, never failing), what edk2 would think of the encoding.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .pkcs7 import VerifyResult, parse_signed_data, verify

__all__ = ["EngineVerifier", "VerificationRecord"]


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """One ``verify`` call of the engine and its outcome."""

    #: The DER certificates the engine offered as trust anchors, in its order.
    trusted: tuple[bytes, ...]
    result: VerifyResult
    #: What ``verify`` answered the engine.
    accepted: bool

    @property
    def trusted_cert(self) -> bytes | None:
        """The trust anchor the chain reached (None when it reached none)."""
        return self.result.trusted_cert

    @property
    def expired(self) -> tuple[bytes, ...]:
        return self.result.expired


class EngineVerifier:
    """A :class:`~uefivars_gui.device.auth.Pkcs7Verifier` backed by :mod:`.pkcs7`.

    ``at`` is the moment for the expiry report (default: now at each call).
    """

    def __init__(
        self, *, strict_edk2_format: bool = False, at: datetime | None = None, keep_records: int | None = None
    ) -> None:
        self.strict_edk2_format = strict_edk2_format
        self.at = at
        #: every call's record, or the last ``keep_records`` (a long-running backend)
        self.records: deque[VerificationRecord] = deque(maxlen=keep_records)

    # -- the Pkcs7Verifier protocol ----------------------------------------------------
    def verify(self, signed_data: bytes, content: bytes, trusted_certs: Sequence[bytes]) -> bool:
        trusted = tuple(bytes(c) for c in trusted_certs)
        result = verify(bytes(signed_data), bytes(content), trusted, at=self.at)
        accepted = result.ok if self.strict_edk2_format else result.signature_valid
        self.records.append(VerificationRecord(trusted, result, accepted))
        return accepted

    def signer_certificates(self, signed_data: bytes) -> list[bytes]:
        """All embedded X.509 certificates in encoded order (raises DecodeError on bad DER)."""
        return list(parse_signed_data(bytes(signed_data)).certificates)

    # -- for reports ---------------------------------------------------------------------
    @property
    def last(self) -> VerificationRecord | None:
        """The most recent verification, if any."""
        return self.records[-1] if self.records else None

    @property
    def last_accepted(self) -> VerificationRecord | None:
        """The most recent verification that succeeded, if any."""
        return next((r for r in reversed(self.records) if r.accepted), None)

    def clear(self) -> None:
        self.records.clear()
