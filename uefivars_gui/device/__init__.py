"""The uefi-vars device as a sans-I/O engine.

A faithful re-implementation of QEMU's ``uefi-vars`` device (hw/uefi) and the edk2
variable MM protocol it serves: registers (DMA, PIO, CRC32C), MM dispatch, the variable
protocol, variable policies, authenticated writes, storage accounting and boot-phase
events. Start at :class:`~uefivars_gui.device.engine.UefiVarsDevice`.

Modules: ``status`` (numbers), ``registers`` (the register window), ``mm`` (header and
dispatch), ``variables`` (variable protocol and store semantics), ``policy`` (VarCheck
policies), ``events`` (boot phase), ``auth`` (authenticated writes), ``sigmerge``
(signature-list merge), ``x509cn`` (certificate CN), ``log`` (typed records and MM
decoders), ``decode`` (those decoders as pure entry points, for captures and replays),
``config`` (device properties), ``engine`` (the facade).

:data:`INTENDED_DIFFERENCES` lists where the engine deliberately differs from QEMU
10.0.2, each with the test that pins it (numbers follow
``intended-differences.md``; "A" entries are additions this engine makes).
"""

from __future__ import annotations

from .auth import Pkcs7Verifier
from .config import DeviceConfig
from .engine import BytearrayMemory, GuestMemory, GuestMemoryError, MmOutcome, UefiVarsDevice
from .status import DeviceStatus, EfiStatus, SmmVariableFunction, VarCheckPolicyCommand

#: (number, what we do, what QEMU 10.0.2 does, test that pins it)
INTENDED_DIFFERENCES: tuple[tuple[str, str, str, str], ...] = (
    (
        "1",
        "GET_PAYLOAD_SIZE answers buf_size - 40 (65496 for 64 KiB)",
        "answers buf_size (65536)",
        "tests/device/test_variables.py::test_get_payload_size_64k",
    ),
    (
        "2",
        "APPEND_WRITE skips the timestamp check",
        "rejects an older timestamp",
        "tests/device/test_auth.py::test_append_skips_time_check",
    ),
    (
        "3",
        "auth header dwLength < 24 -> EFI_SECURITY_VIOLATION",
        "EFI_UNSUPPORTED",
        "tests/device/test_auth.py::test_dwlength_below_24_is_security_violation",
    ),
    (
        "4",
        "PIO transfer buffer zeroed on every BUFFER_SIZE write (CVE-2025-8860)",
        "may leak old bytes",
        "tests/device/test_registers.py::test_buffer_size_realloc_zeroes_pio_buffer",
    ),
    (
        "5",
        "names validated in bytes: no NUL within NameSize -> EFI_INVALID_PARAMETER",
        "scans NameSize characters",
        "tests/device/test_variables.py::test_name_without_nul_within_namesize",
    ),
    (
        "6",
        "GetNextVariableName checks access of the first variable too (after ExitBootServices)",
        "returns the first variable even if not RT",
        "tests/device/test_variables.py::test_get_next_first_respects_runtime",
    ),
    (
        "7",
        "READY_TO_BOOT / EXIT_BOOT_SERVICE functions set ReturnStatus = EFI_SUCCESS",
        "leave ReturnStatus as sent",
        "tests/device/test_variables.py::test_ready_to_boot_and_exit_boot_service_functions",
    ),
    (
        "8",
        "user mode: DataSize-0 SetVariable of PK/KEK/db/dbx/dbt or a private AT variable -> "
        "EFI_SECURITY_VIOLATION, variable kept (secure-boot databases may still be deleted in custom mode)",
        "deletes without any signature",
        "tests/device/test_auth.py::test_zero_size_delete_protected_in_user_mode",
    ),
    (
        "9",
        "namespace-only policy matches every name of its namespace (priority 255)",
        "never matches",
        "tests/device/test_policy.py::test_namespace_wide_policy",
    ),
    (
        "10",
        "LOCK_ON_VARIABLE_STATE sub-entry read with edk2's packed 18-byte layout (name at entry+62)",
        "reads 2 bytes later (entry+64)",
        "tests/device/test_policy.py::test_lock_on_var_state_edk2_layout",
    ),
    (
        "11",
        "VarCheckPolicy DUMP implemented with edk2 pagination",
        "EFI_UNSUPPORTED",
        "tests/device/test_policy.py::test_dump_pagination",
    ),
    (
        "12",
        "policy interface locked only by the LOCK command; DISABLE -> EFI_UNSUPPORTED (same as QEMU)",
        "same",
        "tests/device/test_policy.py::test_lock_command_and_disable",
    ),
    (
        "13",
        "delete of a missing variable -> EFI_SUCCESS; inaccessible Get -> EFI_ACCESS_DENIED; append only on "
        "secure-boot databases (same as QEMU)",
        "same",
        "tests/device/test_variables.py::test_qemu_status_conventions",
    ),
    (
        "15",
        "db/dbx/dbt updates verified against KEK and PK certificates",
        "KEK only",
        "tests/device/test_auth.py::test_db_signed_by_pk_accepted",
    ),
    (
        "16",
        "after EndOfDxe a guest SetVariable (write or delete) of a read-only variable -> EFI_WRITE_PROTECTED, "
        "nothing changes (edk2 VarCheck READ_ONLY: SetupMode, SecureBoot, SignatureSupport, VendorKeys, "
        "PKDefault, KEKDefault, dbDefault, dbxDefault, dbtDefault, VendorKeysNv, certdb, certdbv); "
        "device-internal writes still happen",
        "ordinary variables: a guest can write SetupMode=1 at OS runtime, then KEK/db/dbx unsigned",
        "tests/device/test_readonly.py::test_read_only_variables_are_write_protected_after_end_of_dxe",
    ),
    (
        "A1",
        "dbt is handled like db/dbx (secure-boot database: 0x27 attributes, signer KEK/PK, append merge)",
        "dbt is a private authenticated variable",
        "tests/device/test_auth.py::test_dbt_is_a_secure_boot_database",
    ),
    (
        "A2",
        "PKCS#7 CertData passed to the verifier as sent (bare or ContentInfo-wrapped both work)",
        "wrap test looks for 0x0a (not 0xa0), so wrapped SignedData is double-wrapped and fails",
        "tests/device/test_auth.py::test_signed_content_and_cert_data_passed_through",
    ),
    (
        "A3",
        "policy registrations beyond 1 MiB of entries -> EFI_OUT_OF_RESOURCES",
        "unbounded",
        "tests/device/test_policy.py::test_policy_memory_is_bounded",
    ),
    (
        "A4",
        "opt-in DeviceConfig.allow_unsigned_pk_in_setup_mode accepts a bare-descriptor PK in setup mode "
        "(edk2/OVMF); off by default",
        "EFI_SECURITY_VIOLATION (PK must be self-signed)",
        "tests/device/test_auth.py::test_setup_to_user_with_bare_descriptor_edk2_option",
    ),
    (
        "A5",
        "guest memory that fails a DMA read/write ends the command with ERR_UNKNOWN (0x10), per UVBP/1",
        "reads/writes unassigned memory silently",
        "tests/device/test_mm.py::test_dma_out_of_range",
    ),
    (
        "A6",
        "PIO CRC32C register reads 0 when the PIO offset exceeds BUFFER_SIZE (newest QEMU)",
        "computes the CRC past the end of the buffer",
        "tests/device/test_registers.py::test_crc_reads_zero_when_offset_beyond_buffer",
    ),
    (
        "A7",
        "PIO_MM copies back exactly 24 + MessageLength bytes (newest QEMU)",
        "copies 24 bytes past the end of the PIO buffer (heap corruption; QEMU crashes observed)",
        "tests/device/test_registers.py::test_pio_reply_fills_buffer_exactly",
    ),
    (
        "A8",
        "register accesses split like QEMU's memory core (aligned pieces <= 4 bytes, unaligned NOT rejected); "
        "this is QEMU behaviour, measured on 10.0.2 - listed because qemu-uefi-vars.md §1.4 inferred rejection",
        "same",
        "tests/device/test_registers.py::test_unaligned_accesses_are_split_like_qemu",
    ),
)

#: Behaviour that matches QEMU 10.0.2 but deserves a decision (not changed here).
OPEN_QUESTIONS: tuple[tuple[str, str], ...] = (
    (
        "before EndOfDxe SetupMode is still an ordinary BS|RT variable (read-only only after EndOfDxe, #16): "
        "firmware code can write 1 and then write KEK/db/dbx unsigned; edk2 keeps the platform mode "
        "internally instead (verified on QEMU 10.0.2 at any phase)",
        "tests/device/test_auth.py::test_setup_mode_variable_is_guest_writable_like_qemu",
    ),
    (
        "a PK written in setup mode must be self-signed (QEMU, verified on 10.0.2); edk2/OVMF EnrollDefaultKeys "
        "writes it with a bare descriptor - available as DeviceConfig.allow_unsigned_pk_in_setup_mode (A4)",
        "tests/device/test_auth.py::test_unsigned_pk_in_setup_mode_refused",
    ),
)

__all__ = [
    "INTENDED_DIFFERENCES",
    "OPEN_QUESTIONS",
    "BytearrayMemory",
    "DeviceConfig",
    "DeviceStatus",
    "EfiStatus",
    "GuestMemory",
    "GuestMemoryError",
    "MmOutcome",
    "Pkcs7Verifier",
    "SmmVariableFunction",
    "UefiVarsDevice",
    "VarCheckPolicyCommand",
]
