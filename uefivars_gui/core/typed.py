"""Typed views of variable data, chosen by (GUID, name), and the well-known variable rules.

:func:`decode_variable` picks a decoder from the edk2 well-known table (edk2-variables
§5.2 and the OVMF/shim namespaces) and returns a :class:`TypedValue`. It never raises for
malformed data of a known variable: it returns a :class:`HexValue` whose ``warning`` says
what is wrong and where.

:func:`variable_rule` / :func:`expected_attributes` / :func:`size_rule` give the
attributes and sizes edk2 enforces (VarCheckUefiLib) or writes, for a later consistency
check (:func:`check_variable`). :func:`attribute_warnings` is the one place that says what
is wrong with an attribute value (the editors, the Add dialog and the check all use it).
"""

from __future__ import annotations

import re
from uuid import UUID

from ..errors import DecodeError
from . import devicepath, loadoption, scalars, siglist
from . import guid as g
from .attributes import AP, AT, AW, BS, HR, NV, RT, Attributes, format_attributes
from .devicepath import DevicePath
from .fields import Field
from .record import value
from .variable import Variable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from . import policy
    from .typedvalue import Decoder, TypedValue
else:

    def __getattr__(name):
        # TypedValue (a typing.Protocol) and Decoder are built on first use: importing
        # typing would cost `uefivars show` start-up time. policy likewise.
        if name in ("TypedValue", "Decoder"):
            from . import typedvalue

            found = getattr(typedvalue, name)
        elif name == "policy":
            from . import policy as found
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = found
        return found


# --- generic values -----------------------------------------------------------------

_PREVIEW_BYTES = 16


@value
class HexValue:
    """Bytes with no typed meaning (or that failed to decode: then ``warning`` says why)."""

    data: bytes
    warning: str | None = None

    @property
    def kind(self) -> str:
        return "hex"

    def to_bytes(self) -> bytes:
        return self.data

    def text_guess(self) -> str | None:
        """The data as text when it plainly is text (ASCII or UCS-2)."""
        guess = scalars.guess_text(self.data)
        return guess[1] if guess else None

    def summary(self) -> str:
        data = self.data
        if not data:
            return "(empty)"
        text = self.text_guess()
        if text is not None:
            quoted = scalars.quote_text(text)
            return quoted if len(quoted) <= 80 else quoted[:77] + '..."'
        preview = " ".join(f"{b:02x}" for b in data[:_PREVIEW_BYTES])
        if len(data) > _PREVIEW_BYTES:
            preview += f" ... ({len(data)} bytes)"
        return preview

    def fields(self) -> Field:
        rows = tuple(
            Field(f"{pos:04x}", pos, len(self.data[pos : pos + 16]), self.data[pos : pos + 16].hex(" "))
            for pos in range(0, len(self.data), 16)
        )
        return Field("Data", 0, len(self.data), self.summary(), rows, self.warning)


@value
class DevicePathValue:
    """A (multi-instance) device path variable: ConIn, ConOut, ErrOut, VMMBootOrder####."""

    path: DevicePath

    @property
    def kind(self) -> str:
        return "devicepath"

    @property
    def instances(self) -> list[DevicePath]:
        return devicepath.instances(self.path)

    def to_bytes(self) -> bytes:
        return devicepath.encode(self.path)

    def summary(self) -> str:
        return devicepath.to_text(self.path) or "(end only)"

    def fields(self) -> Field:
        return devicepath.path_fields(self.path)


def decode_device_path_value(data: bytes) -> DevicePathValue:
    return DevicePathValue(devicepath.decode(data))


@value
class SignatureDatabaseValue:
    """A signature database (PK, KEK, db, dbx, dbt, MokList...).

    ``describe_x509`` (from the crypto layer, injected by callers that may import it)
    adds certificate subjects, validity and fingerprints to the summary and the tree.
    """

    database: siglist.SignatureDatabase
    describe_x509: siglist.X509Describer | None = None

    @property
    def kind(self) -> str:
        return "siglist"

    def to_bytes(self) -> bytes:
        return self.database.to_bytes()

    def summary(self) -> str:
        return self.database.summary(self.describe_x509)

    def fields(self) -> Field:
        return self.database.fields(self.describe_x509)


def decode_signature_database_value(data: bytes) -> SignatureDatabaseValue:
    return SignatureDatabaseValue(siglist.decode_signature_database(bytes(data)))


@value
class PolicyTableValue:
    """A sequence of VARIABLE_POLICY_ENTRY records (a DUMP reply, a policy set)."""

    entries: tuple[policy.VariablePolicyEntry, ...]

    @property
    def kind(self) -> str:
        return "policy"

    def to_bytes(self) -> bytes:
        from . import policy

        return policy.encode_policy_table(self.entries)

    def summary(self) -> str:
        count = len(self.entries)
        return f"{count} polic{'y' if count == 1 else 'ies'}"

    def fields(self) -> Field:
        children = []
        pos = 0
        for index, entry in enumerate(self.entries):
            child = entry.fields().shifted(pos)
            children.append(
                Field(
                    f"Entry[{index}]", child.offset, child.length, child.text, child.children, child.warning
                )
            )
            pos += child.length
        return Field("VariablePolicy", 0, pos, self.summary(), tuple(children))


def decode_policy_table_value(data: bytes) -> PolicyTableValue:
    from . import policy

    return PolicyTableValue(tuple(policy.decode_policy_table(bytes(data))))


# --- the dispatch table -------------------------------------------------------------


def _uint(
    size: int,
    style: scalars.UIntStyle = scalars.UIntStyle.DECIMAL,
    names: tuple[tuple[int, str], ...] = (),
    prefix: str = "Boot",
) -> Decoder:
    def decode(data: bytes) -> TypedValue:
        return scalars.decode_uint(data, size, style, names, prefix)

    return decode


def _order(prefix: str) -> Decoder:
    def decode(data: bytes) -> TypedValue:
        return scalars.decode_uint16_array(data, prefix)

    return decode


_STRING: Decoder = scalars.decode_ascii_string
_BOOL: Decoder = scalars.decode_bool
_DEVPATH: Decoder = decode_device_path_value
_SIGDB: Decoder = decode_signature_database_value
_LOAD_OPTION: Decoder = loadoption.decode_load_option
_OS_INDICATIONS = _uint(8, scalars.UIntStyle.FLAGS, scalars.flag_names(scalars.OsIndications))

_EXACT: dict[tuple[UUID, str], Decoder] = {}


def _add(guid: UUID, names: str, decoder: Decoder) -> None:
    for name in names.split():
        _EXACT[(guid, name)] = decoder


_GLOBAL = g.EFI_GLOBAL_VARIABLE
_add(_GLOBAL, "Lang PlatformLang LangCodes PlatformLangCodes", _STRING)
_add(_GLOBAL, "ConIn ConOut ErrOut ConInDev ConOutDev ErrOutDev", _DEVPATH)
_add(_GLOBAL, "BootOrder", _order("Boot"))
_add(_GLOBAL, "DriverOrder", _order("Driver"))
_add(_GLOBAL, "SysPrepOrder", _order("SysPrep"))
_add(_GLOBAL, "BootNext BootCurrent", _uint(2, scalars.UIntStyle.OPTION))
_add(_GLOBAL, "Timeout", _uint(2, scalars.UIntStyle.TIMEOUT))
_add(_GLOBAL, "HwErrRecSupport", _uint(2))
_add(
    _GLOBAL,
    "BootOptionSupport",
    _uint(4, scalars.UIntStyle.BOOT_OPTION_SUPPORT, scalars.flag_names(scalars.BootOptionSupport)),
)
_add(_GLOBAL, "OsIndications OsIndicationsSupported", _OS_INDICATIONS)
_add(_GLOBAL, "SecureBoot SetupMode VendorKeys AuditMode DeployedMode", _BOOL)
_add(_GLOBAL, "SignatureSupport OsRecoveryOrder", scalars.decode_guid_array)
_add(_GLOBAL, "PK KEK PKDefault KEKDefault dbDefault dbxDefault dbtDefault dbrDefault", _SIGDB)
_add(g.EFI_IMAGE_SECURITY_DATABASE, "db dbx dbt dbr", _SIGDB)
_add(g.DEVICE_SIGNATURE_DATABASE, "devdb", _SIGDB)
_add(g.SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable", _BOOL)
_add(g.CUSTOM_MODE_ENABLE, "CustomMode", _BOOL)
_add(g.VENDOR_KEYS_NV, "VendorKeysNv", _BOOL)
_add(g.MTC_VENDOR, "MTC", _uint(4))
_add(g.VAR_ERROR_FLAG, "VarErrorFlag", _uint(1, scalars.UIntStyle.ENUM, scalars.VAR_ERROR_FLAG_NAMES))
_add(
    g.MEMORY_OVERWRITE_CONTROL,
    "MemoryOverwriteRequestControl",
    _uint(1, scalars.UIntStyle.FLAGS, scalars.flag_names(scalars.MemoryOverwriteRequest)),
)
_add(
    g.MEMORY_OVERWRITE_REQUEST_CONTROL_LOCK,
    "MemoryOverwriteRequestControlLock",
    _uint(1, scalars.UIntStyle.ENUM, scalars.MOR_LOCK_NAMES),
)
_add(g.SHIM_LOCK, "MokList MokListRT MokListX MokListXRT", _SIGDB)
_add(g.SHIM_LOCK, "SbatLevel SbatLevelRT", _STRING)

_UPPER_HEX = frozenset("0123456789ABCDEF")
_HEX = frozenset("0123456789ABCDEFabcdef")


def _numbered(prefixes: tuple[str, ...], digits: frozenset[str]) -> Callable[[str], bool]:
    """A test for ``<prefix>####`` names: what ``re.match(r"^(P1|P2|...)[digits]{4}$", name)``
    says, without compiling regexes at start-up (every `uefivars show` needs these)."""

    def matches(name: str) -> bool:
        if name.endswith("\n"):  # "$" also matches before a final newline
            name = name[:-1]
        return len(name) > 4 and name[:-4] in prefixes and all(c in digits for c in name[-4:])

    return matches


_PATTERNS: list[tuple[UUID, Callable[[str], bool], Decoder]] = [
    (_GLOBAL, _numbered(("Boot", "Driver", "SysPrep", "PlatformRecovery"), _UPPER_HEX), _LOAD_OPTION),
    (_GLOBAL, _numbered(("Key",), _UPPER_HEX), loadoption.decode_key_option),
    (g.VMM_BOOT_ORDER, _numbered(("VMMBootOrder",), _HEX), _DEVPATH),
]


def decoder_for(guid: UUID, name: str) -> Decoder | None:
    """The decoder for a well-known variable, or None."""
    decoder = _EXACT.get((guid, name))
    if decoder is not None:
        return decoder
    for pattern_guid, matches, candidate in _PATTERNS:
        if guid == pattern_guid and matches(name):
            return candidate
    return None


def decode_data(
    guid: UUID, name: str, data: bytes, *, describe_x509: siglist.X509Describer | None = None
) -> TypedValue | None:
    """Like :func:`decode_variable` for data that is not (yet) a Variable."""
    decoder = decoder_for(guid, name)
    if decoder is None:
        return None
    value = _run(decoder, bytes(data))
    if describe_x509 is not None and isinstance(value, SignatureDatabaseValue):
        return SignatureDatabaseValue(value.database, describe_x509)
    return value


def _run(decoder: Decoder, data: bytes) -> TypedValue:
    try:
        value = decoder(data)
        same = value.to_bytes() == data
    except DecodeError as exc:
        return HexValue(data, str(exc))
    except Exception as exc:  # a bug in a sibling decoder must not take a view down
        return HexValue(data, f"decoder failed: {type(exc).__name__}: {exc}")
    if not same:
        return HexValue(data, "decoded value does not encode back to the same bytes")
    return value


def decode_variable(
    var: Variable, *, describe_x509: siglist.X509Describer | None = None
) -> TypedValue | None:
    """The typed value of a well-known variable; None for variables we know nothing of.

    Malformed data of a known variable gives a HexValue with a warning (never raises).
    ``describe_x509`` adds certificate details to signature databases.
    """
    return decode_data(var.guid, var.name, var.data, describe_x509=describe_x509)


def decode_any(var: Variable) -> TypedValue:
    """:func:`decode_variable`, falling back to a plain HexValue."""
    value = decode_variable(var)
    return HexValue(var.data) if value is None else value


#: Decoders by kind, for "decode this data as ..." (CLI ``--as``, MM payload views).
KIND_DECODERS: dict[str, Decoder] = {
    "loadoption": _LOAD_OPTION,
    "keyoption": loadoption.decode_key_option,
    "devicepath": _DEVPATH,
    "ucs2": scalars.decode_ucs2_string,
    "ascii": _STRING,
    "bool": _BOOL,
    "uint8": _uint(1),
    "uint16": _uint(2),
    "uint32": _uint(4),
    "uint64": _uint(8),
    "uint16[]": _order("Boot"),
    "guid[]": scalars.decode_guid_array,
    "siglist": _SIGDB,
    "policy": decode_policy_table_value,
    "hex": HexValue,
}


def decode_as(kind: str, data: bytes) -> TypedValue:
    """Decode ``data`` as ``kind`` (a key of KIND_DECODERS); HexValue with a warning on errors."""
    decoder = KIND_DECODERS.get(kind)
    if decoder is None:
        raise DecodeError(f"unknown kind {kind!r} (one of {', '.join(KIND_DECODERS)})", what="decode as")
    return _run(decoder, bytes(data))


# --- well-known variable rules ------------------------------------------------------


@value
class SizeRule:
    """``min_size <= size <= max_size`` and ``(size - min_size) % step == 0``."""

    min_size: int = 0
    max_size: int | None = None
    step: int = 1

    def check(self, size: int) -> str | None:
        """None when ``size`` is allowed, else the reason."""
        if size < self.min_size:
            return f"size {size} is below the minimum {self.min_size}"
        if self.max_size is not None and size > self.max_size:
            return f"size {size} is above the maximum {self.max_size}"
        if self.step > 1 and (size - self.min_size) % self.step:
            if self.min_size % self.step == 0:
                return f"size {size} is not a multiple of {self.step}"
            return f"size {size} is not {self.min_size} + a multiple of {self.step}"
        return None

    def describe(self) -> str:
        if self.max_size == self.min_size:
            return f"exactly {self.min_size}"
        text = f">= {self.min_size}" if self.max_size is None else f"{self.min_size}..{self.max_size}"
        if self.step > 1:
            text += f", step {self.step}"
        return text


@value
class VariableRule:
    attributes: Attributes
    size: SizeRule
    #: Only firmware writes it (edk2 VarCheck READ_ONLY).
    read_only: bool = False
    #: True when edk2's VarCheckUefiLib enforces the rule; False when it only says what
    #: edk2 writes (OVMF and driver namespaces).
    enforced: bool = True


def _exact(size: int) -> SizeRule:
    return SizeRule(size, size)


_NV_BS_RT = NV | BS | RT
_BS_RT = BS | RT
_NV_BS_RT_AT = NV | BS | RT | AT

_RULES: dict[tuple[UUID, str], VariableRule] = {}
#: (namespace, name pattern, rule); the patterns are compiled on first use (start-up time).
_RULE_PATTERNS: list[tuple[UUID, str, VariableRule]] = []


def _rule(guid: UUID, names: str, rule: VariableRule) -> None:
    for name in names.split():
        _RULES[(guid, name)] = rule


def _load_rules() -> None:
    """Fill the rule tables (on first use: `uefivars show` never needs them)."""
    _rule(_GLOBAL, "LangCodes PlatformLangCodes", VariableRule(_BS_RT, SizeRule(1)))
    _rule(_GLOBAL, "Lang PlatformLang", VariableRule(_NV_BS_RT, SizeRule(1)))
    _rule(_GLOBAL, "Timeout BootNext HwErrRecSupport", VariableRule(_NV_BS_RT, _exact(2)))
    _rule(_GLOBAL, "ConIn ConOut ErrOut", VariableRule(_NV_BS_RT, SizeRule(4)))
    _rule(_GLOBAL, "ConInDev ConOutDev ErrOutDev", VariableRule(_BS_RT, SizeRule(4)))
    _rule(_GLOBAL, "BootOrder DriverOrder SysPrepOrder", VariableRule(_NV_BS_RT, SizeRule(2, None, 2)))
    _rule(_GLOBAL, "BootCurrent", VariableRule(_BS_RT, _exact(2)))
    _rule(_GLOBAL, "BootOptionSupport", VariableRule(_BS_RT, _exact(4)))
    _rule(_GLOBAL, "SetupMode SecureBoot VendorKeys", VariableRule(_BS_RT, _exact(1), read_only=True))
    _rule(_GLOBAL, "KEK PK", VariableRule(_NV_BS_RT_AT, SizeRule(1)))
    _rule(_GLOBAL, "SignatureSupport", VariableRule(_BS_RT, SizeRule(16, None, 16), read_only=True))
    _rule(
        _GLOBAL,
        "KEKDefault PKDefault dbDefault dbxDefault dbtDefault",
        VariableRule(_BS_RT, SizeRule(1), read_only=True),
    )
    _rule(_GLOBAL, "OsIndicationsSupported", VariableRule(_BS_RT, _exact(8)))
    _rule(_GLOBAL, "OsIndications", VariableRule(_NV_BS_RT, _exact(8)))
    _rule(g.EFI_IMAGE_SECURITY_DATABASE, "db dbx dbt", VariableRule(_NV_BS_RT_AT, SizeRule(1)))
    # What edk2/OVMF write in their own namespaces (not enforced by VarCheckUefiLib).
    _rule(g.SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable", VariableRule(NV | BS, _exact(1), enforced=False))
    _rule(g.CUSTOM_MODE_ENABLE, "CustomMode", VariableRule(NV | BS, _exact(1), enforced=False))
    _rule(g.VENDOR_KEYS_NV, "VendorKeysNv", VariableRule(NV | BS | AT, _exact(1), enforced=False))
    _rule(g.MTC_VENDOR, "MTC", VariableRule(_NV_BS_RT, _exact(4), enforced=False))
    _rule(g.VAR_ERROR_FLAG, "VarErrorFlag", VariableRule(_NV_BS_RT, _exact(1), enforced=False))
    _rule(g.CERT_DB, "certdb", VariableRule(_NV_BS_RT_AT, SizeRule(4), enforced=False))
    _rule(g.CERT_DB, "certdbv", VariableRule(_BS_RT | AT, SizeRule(4), enforced=False))
    _rule(
        g.MEMORY_TYPE_INFORMATION,
        "MemoryTypeInformation",
        VariableRule(NV | BS, SizeRule(0, None, 8), enforced=False),
    )
    _rule(
        g.MEMORY_OVERWRITE_CONTROL,
        "MemoryOverwriteRequestControl",
        VariableRule(_NV_BS_RT, _exact(1), enforced=False),
    )

    _RULE_PATTERNS.extend(
        [
            (_GLOBAL, r"^(Boot|Driver|SysPrep)[0-9A-F]{4}$", VariableRule(_NV_BS_RT, SizeRule(6))),
            (_GLOBAL, r"^PlatformRecovery[0-9A-F]{4}$", VariableRule(_BS_RT, SizeRule(6))),
            (_GLOBAL, r"^Key[0-9A-F]{4}$", VariableRule(_NV_BS_RT, SizeRule(10, 22, 4))),
            (
                g.EFI_HARDWARE_ERROR_VARIABLE,
                r"^HwErrRec[0-9A-F]{4}$",
                VariableRule(_NV_BS_RT | HR, SizeRule()),
            ),
        ]
    )


#: Namespaces where edk2 refuses (after EndOfDxe) to write any name it does not know.
CHECKED_NAMESPACES = frozenset(
    {g.EFI_GLOBAL_VARIABLE, g.EFI_IMAGE_SECURITY_DATABASE, g.EFI_HARDWARE_ERROR_VARIABLE}
)


def variable_rule(guid: UUID, name: str) -> VariableRule | None:
    if not _RULES:
        _load_rules()
    rule = _RULES.get((guid, name))
    if rule is not None:
        return rule
    for pattern_guid, pattern, candidate in _RULE_PATTERNS:
        if guid == pattern_guid and re.match(pattern, name):
            return candidate
    return None


def expected_attributes(guid: UUID, name: str) -> Attributes | None:
    """The attributes edk2 requires (or writes) for a well-known variable."""
    rule = variable_rule(guid, name)
    return rule.attributes if rule else None


def size_rule(guid: UUID, name: str) -> SizeRule | None:
    rule = variable_rule(guid, name)
    return rule.size if rule else None


#: Every bit SetVariable knows (0x80 ENHANCED_AUTHENTICATED_ACCESS is not supported by edk2).
_KNOWN_ATTRIBUTE_BITS = int(NV | BS | RT | HR | AW | AT | AP)


def _hardware_error_record_warning(attributes: int, guid: UUID | None, name: str) -> str | None:
    if not attributes & HR:
        return None
    if guid == g.EFI_HARDWARE_ERROR_VARIABLE and re.match(r"^HwErrRec[0-9A-F]{4}$", name):
        return None
    return "HR outside HwErrRec####: only hardware error records in EfiHardwareErrorVariable may set it"


def _expected_attributes_warning(attributes: int, expected: Attributes) -> str | None:
    stored = attributes & ~AP  # APPEND_WRITE is a SetVariable flag, as edk2 ignores it here
    if stored == int(expected):
        return None
    return f"attributes {format_attributes(stored)} differ from the expected {format_attributes(expected)}"


def attribute_warnings(attributes: int, guid: UUID | None = None, name: str = "") -> list[str]:
    """Why firmware would refuse (or frown at) these attributes, for this variable when
    ``guid`` and ``name`` are given: short phrases without a final full stop.

    Covers the combinations SetVariable rejects (RT without BS, NV alone, no BS at all,
    AT with AW), the deprecated AW, HR outside ``HwErrRec####`` in EfiHardwareErrorVariable,
    AP (a write flag, never stored), unknown bits, and differences from the well-known
    table (:func:`expected_attributes`).
    """
    warnings: list[str] = []
    if not attributes & BS:
        if attributes & RT:
            warnings.append("RT without BS: firmware refuses runtime access without boot-service access")
        elif attributes & NV:
            warnings.append(
                "NV alone: a non-volatile variable also needs BS (and usually RT) access; firmware refuses it"
            )
        else:
            warnings.append("no BS: firmware refuses a variable without boot-service access")
    if attributes & AT and attributes & AW:
        warnings.append("AT together with AW: firmware refuses both authentication kinds at once")
    elif attributes & AW:
        warnings.append(
            "AW (count-based authenticated write access) is deprecated: edk2 refuses to create such "
            "variables (EFI_UNSUPPORTED)"
        )
    hardware = _hardware_error_record_warning(attributes, guid, name)
    if hardware:
        warnings.append(hardware)
    if attributes & AP:
        warnings.append("AP (append write) is a SetVariable flag, not a stored attribute: saving drops it")
    unknown = attributes & ~_KNOWN_ATTRIBUTE_BITS
    if unknown:
        warnings.append(f"unknown or unsupported attribute bits 0x{unknown:X}")
    if guid is not None and name:
        expected = expected_attributes(guid, name)
        differs = None if expected is None else _expected_attributes_warning(attributes, expected)
        if differs:
            warnings.append(differs)
    return warnings


def check_variable(var: Variable) -> tuple[str, ...]:
    """What edk2 (or the well-known formats) would object to in this variable.

    For attributes only what concerns a stored variable of a known name (the table and
    HR); :func:`attribute_warnings` words those the same way, so both can be shown together.
    """
    problems: list[str] = []
    rule = variable_rule(var.guid, var.name)
    if rule is None and var.guid in CHECKED_NAMESPACES:
        problems.append(
            f"{var.name} is not a known name in {g.guid_label(var.guid)}: edk2 refuses to write it"
        )
    if rule is not None:
        differs = _expected_attributes_warning(int(var.attributes), rule.attributes)
        if differs:
            problems.append(differs)
        size_problem = rule.size.check(var.size)
        if size_problem:
            problems.append(size_problem)
    hardware = _hardware_error_record_warning(int(var.attributes), var.guid, var.name)
    if hardware:
        problems.append(hardware)
    value = decode_variable(var)
    if isinstance(value, HexValue) and value.warning:
        problems.append(f"malformed data: {value.warning}")
    elif isinstance(value, loadoption.LoadOption) and value.file_path_error:
        problems.append(f"malformed FilePathList: {value.file_path_error}")
    return tuple(problems)
