"""Text rendering shared by the commands: table rows and decoded values."""

from __future__ import annotations

from ..core.attributes import format_attributes
from ..core.fields import Field
from ..core.guid import guid_label
from ..core.variable import Variable

SUMMARY_WIDTH = 60


def typed_summary(var: Variable) -> str:
    from ..core.typed import decode_variable

    typed = decode_variable(var)
    return typed.summary() if typed is not None else ""


def typed_fields(var: Variable) -> Field:
    """The full decoded tree, with certificate details (imports the crypto layer)."""
    from ..core.typed import decode_variable
    from ..crypto.x509 import describe_x509

    typed = decode_variable(var, describe_x509=describe_x509)
    if typed is None:
        return Field("data", 0, len(var.data), var.data.hex())
    return typed.fields()


def clip(text: str, width: int = SUMMARY_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def variable_row(var: Variable) -> list[str]:
    return [
        var.name,
        guid_label(var.guid),
        format_attributes(var.attributes),
        str(var.size),
        str(var.timestamp) if var.timestamp is not None and not var.timestamp.is_zero else "",
        clip(typed_summary(var)),
    ]


def table(rows: list[list[str]], header: list[str] | None = None) -> str:
    all_rows = ([header] if header else []) + rows
    if not all_rows:
        return ""
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(all_rows[0]))]
    lines = []
    for row in all_rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def variable_block(var: Variable) -> str:
    """Everything about one variable: identity, attributes, time, decoded tree."""
    lines = [
        f"{var.name}",
        f"  guid:       {var.guid} ({guid_label(var.guid)})",
        f"  attributes: {format_attributes(var.attributes)} (0x{int(var.attributes):x})",
        f"  size:       {var.size}",
    ]
    if var.timestamp is not None:
        lines.append(f"  time:       {var.timestamp}")
    if var.digest is not None:
        lines.append(f"  digest:     {var.digest.hex()}")
    lines.append("  value:")
    lines.append(typed_fields(var).render().replace("\n", "\n    ").join(["    ", ""]))
    return "\n".join(lines)
