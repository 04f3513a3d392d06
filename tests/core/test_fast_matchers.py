"""Hand-written matchers that replace regexes on the `uefivars show` path (start-up time)
give exactly what the regexes gave."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from uefivars_gui.core import devicepath, typed

NODE_TEXT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\((.*)\)\s*$", re.DOTALL)
NUMBERED = {
    ("Boot", "Driver", "SysPrep", "PlatformRecovery"): (r"^(Boot|Driver|SysPrep|PlatformRecovery)[0-9A-F]{4}$", typed._UPPER_HEX),
    ("Key",): (r"^Key[0-9A-F]{4}$", typed._UPPER_HEX),
    ("VMMBootOrder",): (r"^VMMBootOrder[0-9A-Fa-f]{4}$", typed._HEX),
}

node_alphabet = st.sampled_from(list("Pci(),0x1Ab_ \t\n\r\u00a0\u2003é9)(") + ["HD", "Uart", "("])
node_texts = st.lists(node_alphabet, max_size=14).map("".join)
name_texts = st.builds(
    lambda prefix, digits, tail: prefix + digits + tail,
    st.sampled_from(["Boot", "Driver", "SysPrep", "PlatformRecovery", "Key", "VMMBootOrder", "boot", "Boo", ""]),
    st.text(alphabet="0123456789ABCDEFabcdefG\n", max_size=6),
    st.sampled_from(["", "\n", "\n\n", " ", "0"]),
)


@given(node_texts)
@example("Pci(0x1,0x0)")
@example("  Uart(115200,8,N,1) \n")
@example("HD(1,GPT,x)(y)")
@example("9Pci()")
@example("P ci()")
@example("Pci)")
@example("(x)")
@example("Pci(")
@example("Pci()\n")
@example("Pci())\u2003")
def test_node_text_split_is_the_regex(text: str) -> None:
    match = NODE_TEXT.match(text)
    assert devicepath._node_text(text) == (match.groups() if match else None)


@given(name_texts)
@example("Boot0000")
@example("Boot0000\n")
@example("Boot00000")
@example("Boot000a")
@example("VMMBootOrder000a")
@example("Key0001\n\n")
def test_numbered_names_are_the_regexes(name: str) -> None:
    for prefixes, (pattern, digits) in NUMBERED.items():
        assert typed._numbered(prefixes, digits)(name) == bool(re.match(pattern, name)), (prefixes, name)


def test_struct_format_items_are_the_regex() -> None:
    formats = {
        cls.FORMAT for cls in vars(devicepath).values() if isinstance(cls, type) and issubclass(cls, devicepath._StructNode)
    } | {"2x3B", "16s4I", "", "B10"}
    for fmt in formats:
        expected = [count + code for count, code in re.findall(r"(\d*)([BHIQs])", fmt)]
        assert devicepath._format_items(fmt) == expected, fmt
