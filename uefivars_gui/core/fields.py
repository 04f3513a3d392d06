"""Decoded field trees with byte spans.

Every typed decoder returns a :class:`Field` tree: a name, the byte span it covers in the
decoded buffer, a display text, and children. Views use the spans to highlight bytes and
to find the deepest field that contains a clicked byte.
"""

from __future__ import annotations

from collections.abc import Iterator

from .record import field, value


@value
class Field:
    name: str
    offset: int
    length: int
    text: str = ""
    children: tuple[Field, ...] = field(default=())
    #: True when the decoder found this part questionable (shown as a warning).
    warning: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def contains(self, offset: int) -> bool:
        return self.offset <= offset < self.end

    def walk(self) -> Iterator[Field]:
        yield self
        for child in self.children:
            yield from child.walk()

    def deepest_at(self, offset: int) -> Field | None:
        """The innermost field whose span contains ``offset``."""
        if not self.contains(offset):
            return None
        for child in self.children:
            hit = child.deepest_at(offset)
            if hit is not None:
                return hit
        return self

    def find(self, name: str) -> Field | None:
        for node in self.walk():
            if node.name == name:
                return node
        return None

    def shifted(self, delta: int) -> Field:
        """The same tree with every span moved by ``delta`` bytes."""
        return Field(self.name, self.offset + delta, self.length, self.text,
                     tuple(c.shifted(delta) for c in self.children), self.warning)

    def render(self, indent: str = "  ") -> str:
        """A plain-text outline, one field per line (for the CLI)."""
        lines: list[str] = []

        def visit(node: Field, depth: int) -> None:
            label = f"{node.name}: {node.text}" if node.text else node.name
            if node.warning:
                label += f"  [!] {node.warning}"
            lines.append(indent * depth + label)
            for child in node.children:
                visit(child, depth + 1)

        visit(self, 0)
        return "\n".join(lines)
