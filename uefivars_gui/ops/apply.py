"""Apply a signed update to a store offline — through the same engine path as :mod:`.verify`.

:func:`apply_update` is :func:`.verify.run_update` with ``in_place=True``: the update goes
through the device engine's SetVariable (reset, EndOfDxe, SetVariable, PKCS#7 checked by
:class:`~uefivars_gui.crypto.engine_verifier.EngineVerifier`) and, only if the engine
accepts it, the non-volatile variables the write changed are carried into ``store``.
Everything else stays as it was (the reset's own bookkeeping — CustomMode, VendorKeys,
SetupMode — is not saved), so an edk2 image written back with its template keeps its
geometry and the records before the first change byte for byte.

A rejected update leaves ``store`` untouched. Saving the file (atomically) is the
caller's business: ``uefivars apply`` does it with ``cli.storefile.save_store``; a flash
store that has no room raises :class:`~uefivars_gui.errors.StoreFullError` there.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from ..core.store import VarStore
from ..device import DeviceConfig
from .verify import UpdateVerdict, run_update

__all__ = ["apply_update"]


def apply_update(
    store: VarStore,
    name: str,
    data: bytes,
    *,
    guid: UUID | None = None,
    append: bool = False,
    attributes: int | None = None,
    custom_mode: bool = False,
    config: DeviceConfig | None = None,
    at: dt.datetime | None = None,
) -> UpdateVerdict:
    """Run the update through the engine and, if accepted, change ``store`` accordingly."""
    return run_update(
        store,
        name,
        data,
        guid=guid,
        append=append,
        attributes=attributes,
        custom_mode=custom_mode,
        config=config,
        at=at,
        in_place=True,
    )
