"""What every store codec shares: the format names and the decoded-document shape."""

from __future__ import annotations

from enum import StrEnum

from ..core.record import value
from ..core.store import VarStore


class StoreFormat(StrEnum):
    JSON = "json"  # QEMU uefi-vars JSON (also virt-fw-vars / python-uefivars JSON)
    EDK2 = "edk2"  # edk2 flash image: OVMF_VARS.fd / AAVMF_VARS.fd
    AWS = "aws"  # python-uefivars "aws" uefi-data blob


@value
class StoreDocument:
    """A decoded store file: the variables plus what the codec needs to write the file
    back the way it was (``origin``, codec-specific: a flash image's geometry and
    history, a JSON file's style). Saving in the same format passes ``origin`` back as
    the template so untouched content stays byte-identical."""

    format: StoreFormat
    store: VarStore
    origin: object = None
