"""EFI GUIDs: byte order, parsing, and the table of well-known vendor GUIDs.

GUIDs are plain :class:`uuid.UUID` values. On the wire and in flash they use the EFI
mixed-endian layout, which is ``UUID.bytes_le``.
"""

from __future__ import annotations

import re
from uuid import UUID

from ..errors import DecodeError

GUID_SIZE = 16


def guid_from_bytes(data: bytes, offset: int = 0) -> UUID:
    """Read an EFI_GUID (mixed endian) at ``offset``."""
    chunk = data[offset : offset + GUID_SIZE]
    if len(chunk) != GUID_SIZE:
        raise DecodeError("truncated GUID", offset)
    return UUID(bytes_le=bytes(chunk))


def guid_to_bytes(guid: UUID) -> bytes:
    return guid.bytes_le


# --- well-known GUIDs -----------------------------------------------------------------

EFI_GLOBAL_VARIABLE = UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
EFI_IMAGE_SECURITY_DATABASE = UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
EFI_HARDWARE_ERROR_VARIABLE = UUID("414e6bdd-e47b-47cc-b244-bb61020cf516")
SECURE_BOOT_ENABLE_DISABLE = UUID("f0a30bc7-af08-4556-99c4-001009c93a44")
CUSTOM_MODE_ENABLE = UUID("c076ec0c-7028-4399-a072-71ee5c448b9f")
VENDOR_KEYS_NV = UUID("9073e4e0-60ec-4b6e-9903-4c223c260f3c")
CERT_DB = UUID("d9bee56e-75dc-49d9-b4d7-b534210f637a")
DEVICE_SIGNATURE_DATABASE = UUID("b9c2b4f4-bf5f-462d-8adf-c5c70ac35dad")
MEMORY_OVERWRITE_CONTROL = UUID("e20939be-32d4-41be-a150-897f85d49829")
MEMORY_OVERWRITE_REQUEST_CONTROL_LOCK = UUID("bb983ccf-151d-40e1-a07b-4a17be168292")
MEMORY_TYPE_INFORMATION = UUID("4c19049f-4137-4dd3-9c10-8b97a83ffdfa")
MTC_VENDOR = UUID("eb704011-1402-11d3-8e77-00a0c969723b")
HDDP = UUID("fab7e9e1-39dd-4f2b-8408-e20e906cb6de")
BDS_AUTO_OPTION = UUID("8108ac4e-9f11-4d59-850e-e21a522c59b2")
VAR_ERROR_FLAG = UUID("04b37fe8-f6ae-480b-bdd5-37d98c5e89aa")
OVMF_PLATFORM_CONFIG = UUID("7235c51c-0c80-4cab-87ac-3b084a6304b1")
VMM_BOOT_ORDER = UUID("668f4529-63d0-4bb5-b65d-6fbb9d36a44a")
TCG2_CONFIG = UUID("6339d487-26ba-424b-9a5d-687e25d740bc")
TCG2_PHYSICAL_PRESENCE = UUID("aeb9c5c1-94f1-4d02-bfd9-4602db2d3c54")
SHIM_LOCK = UUID("605dab50-e046-4300-abb6-3dd810dd8b23")
MOK_VARIABLE_STORE = UUID("c451ed2b-9694-45d3-baba-ed9f8988a389")
MICROSOFT_VENDOR = UUID("77fa9abd-0359-4d32-bd60-28f4e78f784b")
OVMF_ENROLL_DEFAULT_KEYS = UUID("a0baa8a3-041d-48a8-bc87-c36d121b5e3d")
# MM handler and event GUIDs
SMM_VARIABLE_PROTOCOL = UUID("ed32d533-99e6-4209-9cc0-2d72cdd998a7")
VAR_CHECK_POLICY_MMI_HANDLER = UUID("da1b0d11-d1a7-46c4-9dc9-f3714875c6eb")
END_OF_DXE_EVENT_GROUP = UUID("02ce967a-dd7e-4ffc-9ee7-810cf0470880")
EVENT_READY_TO_BOOT = UUID("7ce88fb3-4bd7-4679-87a8-a8d8dee50d2b")
EVENT_EXIT_BOOT_SERVICES = UUID("27abf055-b1b8-4c26-8048-748f37baa2df")
# Flash image GUIDs
SYSTEM_NV_DATA_FV = UUID("fff12b8d-7696-4c8b-a985-2747075b4f50")
AUTHENTICATED_VARIABLE = UUID("aaf32c78-947b-439a-a180-2e144ec37792")
VARIABLE = UUID("ddcf3616-3275-4164-98b6-fe85707ffe7d")
FTW_WORKING_BLOCK_SIGNATURE = UUID("9e58292b-7c68-497d-a0ce-6500fd9f1b95")
# Signature types (EFI_SIGNATURE_LIST.SignatureType) and certificate types
EFI_CERT_SHA256 = UUID("c1c41626-504c-4092-aca9-41f936934328")
EFI_CERT_RSA2048 = UUID("3c5766e8-269c-4e34-aa14-ed776e85b3b6")
EFI_CERT_RSA2048_SHA256 = UUID("e2b36190-879b-4a3d-ad8d-f2e7bba32784")
EFI_CERT_SHA1 = UUID("826ca512-cf10-4ac9-b187-be01496631bd")
EFI_CERT_RSA2048_SHA1 = UUID("67f8444f-8743-48f1-a328-1eaab8736080")
EFI_CERT_X509 = UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
EFI_CERT_SHA224 = UUID("0b6e5233-a65c-44c9-9407-d9ab83bfc8bd")
EFI_CERT_SHA384 = UUID("ff3e5307-9fd0-48c9-85f1-8ad56c701e01")
EFI_CERT_SHA512 = UUID("093e0fae-a6c4-4f50-9f1b-d41e2b89c19a")
EFI_CERT_X509_SHA256 = UUID("3bd2a492-96c0-4079-b420-fcf98ef103ed")
EFI_CERT_X509_SHA384 = UUID("7076876e-80c2-4ee6-aad2-28b349a6865b")
EFI_CERT_X509_SHA512 = UUID("446dbf63-2502-4cda-bcfa-2465d2b0fe9d")
EFI_CERT_SM3 = UUID("57347f87-7a9b-403a-b93c-dc4afb7a0ebc")
EFI_CERT_X509_SM3 = UUID("60d807e5-10b4-49a9-9331-e40437888d37")
EFI_CERT_TYPE_PKCS7 = UUID("4aafd29d-68df-49ee-8aa9-347d375665a7")
EFI_CERT_TYPE_RSA2048_SHA256 = UUID("a7717414-c616-4977-9420-844712a735bf")

ZERO_GUID = UUID(int=0)

#: Readable names, shown instead of the GUID where one is known.
KNOWN_GUIDS: dict[UUID, str] = {
    EFI_GLOBAL_VARIABLE: "EfiGlobalVariable",
    EFI_IMAGE_SECURITY_DATABASE: "EfiImageSecurityDatabase",
    EFI_HARDWARE_ERROR_VARIABLE: "EfiHardwareErrorVariable",
    SECURE_BOOT_ENABLE_DISABLE: "SecureBootEnableDisable",
    CUSTOM_MODE_ENABLE: "CustomModeEnable",
    VENDOR_KEYS_NV: "VendorKeysNv",
    CERT_DB: "CertDb",
    DEVICE_SIGNATURE_DATABASE: "DeviceSignatureDatabase",
    MEMORY_OVERWRITE_CONTROL: "MemoryOverwriteControl",
    MEMORY_OVERWRITE_REQUEST_CONTROL_LOCK: "MemoryOverwriteRequestControlLock",
    MEMORY_TYPE_INFORMATION: "MemoryTypeInformation",
    MTC_VENDOR: "MtcVendor",
    HDDP: "Hddp",
    BDS_AUTO_OPTION: "BdsAutoOption",
    VAR_ERROR_FLAG: "VarErrorFlag",
    OVMF_PLATFORM_CONFIG: "OvmfPlatformConfig",
    VMM_BOOT_ORDER: "VmmBootOrder",
    TCG2_CONFIG: "Tcg2Config",
    TCG2_PHYSICAL_PRESENCE: "Tcg2PhysicalPresence",
    SHIM_LOCK: "ShimLock",
    MOK_VARIABLE_STORE: "MokVariableStore",
    MICROSOFT_VENDOR: "MicrosoftVendor",
    OVMF_ENROLL_DEFAULT_KEYS: "OvmfEnrollDefaultKeys",
    SMM_VARIABLE_PROTOCOL: "SmmVariableProtocol",
    VAR_CHECK_POLICY_MMI_HANDLER: "VarCheckPolicyMmiHandler",
    END_OF_DXE_EVENT_GROUP: "EndOfDxeEventGroup",
    EVENT_READY_TO_BOOT: "EventReadyToBoot",
    EVENT_EXIT_BOOT_SERVICES: "EventExitBootServices",
    SYSTEM_NV_DATA_FV: "SystemNvDataFv",
    AUTHENTICATED_VARIABLE: "AuthenticatedVariable",
    VARIABLE: "Variable",
    FTW_WORKING_BLOCK_SIGNATURE: "FtwWorkingBlockSignature",
    EFI_CERT_SHA256: "EfiCertSha256",
    EFI_CERT_RSA2048: "EfiCertRsa2048",
    EFI_CERT_RSA2048_SHA256: "EfiCertRsa2048Sha256",
    EFI_CERT_SHA1: "EfiCertSha1",
    EFI_CERT_RSA2048_SHA1: "EfiCertRsa2048Sha1",
    EFI_CERT_X509: "EfiCertX509",
    EFI_CERT_SHA224: "EfiCertSha224",
    EFI_CERT_SHA384: "EfiCertSha384",
    EFI_CERT_SHA512: "EfiCertSha512",
    EFI_CERT_X509_SHA256: "EfiCertX509Sha256",
    EFI_CERT_X509_SHA384: "EfiCertX509Sha384",
    EFI_CERT_X509_SHA512: "EfiCertX509Sha512",
    EFI_CERT_SM3: "EfiCertSm3",
    EFI_CERT_X509_SM3: "EfiCertX509Sm3",
    EFI_CERT_TYPE_PKCS7: "EfiCertTypePkcs7",
    EFI_CERT_TYPE_RSA2048_SHA256: "EfiCertTypeRsa2048Sha256",
}

_BY_NAME: dict[str, UUID] = {name.lower(): guid for guid, name in KNOWN_GUIDS.items()}
# Short aliases users type on the command line.
_BY_NAME.update(
    {
        "global": EFI_GLOBAL_VARIABLE,
        "efi": EFI_GLOBAL_VARIABLE,
        "db": EFI_IMAGE_SECURITY_DATABASE,
        "security": EFI_IMAGE_SECURITY_DATABASE,
        "microsoft": MICROSOFT_VENDOR,
        "shim": SHIM_LOCK,
    }
)


def guid_name(guid: UUID) -> str | None:
    """The readable name of a well-known GUID, or None."""
    return KNOWN_GUIDS.get(guid)


def guid_label(guid: UUID) -> str:
    """The readable name if known, otherwise the canonical lowercase text."""
    return KNOWN_GUIDS.get(guid) or str(guid)


#: Compiled on first use (re caches it): start-up time.
_GUID_RE = r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"


def parse_guid(text: str) -> UUID:
    """Parse canonical GUID text (braces allowed) or a well-known name (any case)."""
    stripped = text.strip()
    match = re.match(_GUID_RE, stripped)
    if match:
        return UUID(match.group(1))
    known = _BY_NAME.get(stripped.lower())
    if known is not None:
        return known
    raise DecodeError(f"not a GUID or a known GUID name: {text!r}", what="GUID")
