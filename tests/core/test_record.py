"""``@value`` (core.record) behaves like ``@dataclass(frozen=True, slots=True)``.

Most tests declare the same class twice, once with each decorator, and compare.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import ClassVar

import pytest

from uefivars_gui.core import record
from uefivars_gui.core.record import field, field_names, value


@value
class Point:
    """A point."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False, repr=False)
    ORIGIN: ClassVar[str] = "origin"


@dataclasses.dataclass(frozen=True, slots=True)
class DPoint:
    """A point."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    notes: list[str] = dataclasses.field(default_factory=list, compare=False, repr=False)
    ORIGIN: ClassVar[str] = "origin"


@value
class Bare:
    a: int
    b: bytes = b""


@dataclasses.dataclass(frozen=True, slots=True)
class DBare:
    a: int
    b: bytes = b""


@value
class Empty:
    pass


@value
class Point3(Point):
    z: int = 0

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y) + abs(self.z)


@value(eq=False)
class Identity:
    data: bytes


@value
class Checked:
    low: int
    high: int
    span: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low > high")
        object.__setattr__(self, "span", self.high - self.low)


@value
class OwnMethods:
    a: int

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 7

    def __repr__(self) -> str:
        return "own"


@value
class Node:
    name: str
    children: list[Node] = field(default_factory=list, compare=False)


class Plain:
    """A base that is not a value class, as DevicePathNode is."""

    __slots__ = ()
    KIND: ClassVar[str] = "plain"

    def describe(self) -> str:
        return f"{self.KIND} {self!r}"


@value
class FromPlain(Plain):
    n: int

    def describe(self) -> str:
        return "child: " + super().describe()


def test_init_positional_keyword_and_defaults() -> None:
    for cls in (Point, DPoint):
        p = cls(1)
        assert (p.x, p.y, p.tags, p.notes) == (1, 0, (), [])
        assert cls(1, 2, ("a",)).tags == ("a",)
        assert cls(x=1, y=2) == cls(1, 2)
        assert cls(1, tags=("t",)).tags == ("t",)


def test_default_factory_gives_a_new_object_each_time() -> None:
    a, b = Point(1), Point(1)
    assert a.notes == [] and a.notes is not b.notes


def test_bad_calls_raise_the_same_type_errors_as_dataclasses() -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((), {}),
        ((1, 2, 3, 4, 5), {}),
        ((1,), {"x": 2}),
        ((1,), {"zz": 2}),
    ]
    for args, kwargs in calls:
        with pytest.raises(TypeError) as ours:
            Point(*args, **kwargs)
        with pytest.raises(TypeError) as theirs:
            DPoint(*args, **kwargs)
        assert str(ours.value) == str(theirs.value).replace("DPoint", "Point")


def test_equality_same_class_only_and_compare_false_ignored() -> None:
    assert Point(1, 2, ("a",), ["x"]) == Point(1, 2, ("a",), ["y"])
    assert Point(1, 2) != Point(1, 3)
    assert Point(1) != DPoint(1)
    assert Point3(1, 2, (), [], 0) != Point(1, 2)
    assert Point(1).__eq__(3) is NotImplemented
    assert Empty() == Empty()
    nan = float("nan")
    assert Bare(nan) == Bare(nan)  # identical members compare equal, as in a tuple  # type: ignore[arg-type]


def test_hash_is_the_dataclass_hash() -> None:
    assert hash(Point(1, 2, ("a",))) == hash(DPoint(1, 2, ("a",)))
    assert hash(Bare(5, b"x")) == hash(DBare(5, b"x"))
    assert hash(Empty()) == hash(())
    assert len({Point(1), Point(1, 0), Point(2)}) == 2


def test_repr_leaves_out_repr_false_fields_and_survives_recursion() -> None:
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"
    assert repr(Point(1, 2)) == repr(DPoint(1, 2)).replace("DPoint", "Point")
    node = Node("root")
    node.children.append(node)
    assert repr(node) == "Node(name='root', children=[...])"


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.other = 2  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'x'"):
        del p.x  # type: ignore[misc]


def test_slots() -> None:
    assert Point.__slots__ == ("x", "y", "tags", "notes")
    assert Point3.__slots__ == ("z",)
    assert not hasattr(Point(1), "__dict__")
    assert "__weakref__" not in dir(Point(1))
    assert Point.ORIGIN == "origin"


def test_class_metadata_matches_dataclasses() -> None:
    assert Point.__match_args__ == DPoint.__match_args__
    assert Point.__doc__ == "A point."
    assert Bare.__doc__ == DBare.__doc__.replace("DBare", "Bare")  # type: ignore[union-attr]
    assert str(inspect.signature(Bare)) == str(inspect.signature(DBare))
    assert str(inspect.signature(Point)) == str(inspect.signature(DPoint))
    assert Point.__qualname__ == "Point" and Point.__module__ == __name__
    match Point(1, 2):
        case Point(x, y):
            assert (x, y) == (1, 2)


def test_signature_of_subclasses() -> None:
    class Plain(Point):
        pass

    class OwnInit(Point):
        def __init__(self, text: str) -> None:
            Point.__init__(self, int(text))

    assert str(inspect.signature(Plain)) == str(inspect.signature(Point))
    assert str(inspect.signature(OwnInit)) == "(text: 'str') -> 'None'"
    assert OwnInit("4").x == 4


def test_dataclasses_functions_work() -> None:
    p = Point(1, 2, ("a",), ["n"])
    assert dataclasses.is_dataclass(p) and dataclasses.is_dataclass(Point)
    ours = [(f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(p)]
    theirs = [(f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(DPoint)]
    assert ours == theirs
    assert dataclasses.fields(Point)[3].default_factory is list
    assert dataclasses.asdict(p) == {"x": 1, "y": 2, "tags": ("a",), "notes": ["n"]}
    assert dataclasses.astuple(p) == (1, 2, ("a",), ["n"])
    assert dataclasses.replace(p, y=5) == Point(1, 5, ("a",))
    assert field_names(p) == field_names(Point) == ("x", "y", "tags", "notes")
    assert [f.name for f in dataclasses.fields(Point3)] == ["x", "y", "tags", "notes", "z"]


def test_replace() -> None:
    p = Point(1, 2, ("a",), ["n"])
    q = record.replace(p, y=3)
    assert (q.x, q.y, q.tags, q.notes) == (1, 3, ("a",), ["n"]) and type(q) is Point
    assert record.replace(DPoint(1), x=2) == DPoint(2)  # any dataclass
    assert record.replace(Checked(1, 4), high=9).span == 8
    with pytest.raises(ValueError, match="init=False"):
        record.replace(Checked(1, 4), span=1)


def test_post_init_and_init_false() -> None:
    assert Checked(2, 5).span == 3
    assert repr(Checked(2, 5)) == "Checked(low=2, high=5, span=3)"
    with pytest.raises(ValueError):
        Checked(5, 2)
    assert "span" not in Checked.__match_args__


def test_inheritance() -> None:
    p = Point3(1, -2, z=3)
    assert p.norm1() == 6
    assert repr(p) == "Point3(x=1, y=-2, tags=(), z=3)"
    assert isinstance(p, Point)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.z = 1  # type: ignore[misc]
    child = FromPlain(3)
    assert child.describe() == "child: plain FromPlain(n=3)"  # zero-argument super() works
    assert FromPlain.KIND == "plain"


def test_eq_false_compares_by_identity() -> None:
    a = Identity(b"x")
    assert a == a and a != Identity(b"x")
    assert hash(a) == object.__hash__(a)


def test_methods_defined_by_the_class_are_kept() -> None:
    assert OwnMethods(1) == OwnMethods(2)
    assert hash(OwnMethods(1)) == 7
    assert repr(OwnMethods(1)) == "own"


def test_pickle_and_copy() -> None:
    for obj in (Point(1, 2, ("a",), ["n"]), Point3(1, z=4), Checked(1, 3), Empty()):
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(obj, protocol))
            assert back == obj and type(back) is type(obj)
        assert copy.copy(obj) == obj
        assert copy.deepcopy(obj) == obj
    assert copy.deepcopy(Point(1, notes=["n"])).notes == ["n"]


def test_busy_classes_get_a_generated_init_with_the_same_behaviour() -> None:
    @value
    class Busy:
        a: int
        b: str = "b"
        c: list[int] = field(default_factory=list)
        d: int = field(init=False, default=4)

        def __post_init__(self) -> None:
            object.__setattr__(self, "d", self.d + self.a)

    generic = Busy.__init__
    made = [Busy(i) for i in range(record.SPECIALIZE_AFTER + 1)]
    assert Busy.__init__ is not generic
    assert made[5] == Busy(5) and Busy(5).d == 9
    after = Busy(1, c=[2])
    assert (after.a, after.b, after.c, after.d) == (1, "b", [2], 5)
    assert Busy(1).c is not Busy(1).c
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        Busy()  # type: ignore[call-arg]


def test_refused_declarations() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @value
        class MutableDefault:
            items: list[int] = []

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @value
        class Order:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError, match="InitVar"):

        @value
        class WithInitVar:
            a: dataclasses.InitVar[int]

    with pytest.raises(TypeError, match="order=True"):
        value(order=True)

    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=int)

    with pytest.raises(TypeError, match="inherit from the dataclass"):

        @value
        class FromDataclass(DPoint):
            z: int = 0


def test_the_store_values_are_dataclass_compatible() -> None:
    from uefivars_gui.core.efitime import EfiTime
    from uefivars_gui.core.fields import Field
    from uefivars_gui.core.variable import Variable

    for cls in (Variable, Field, EfiTime):
        assert dataclasses.is_dataclass(cls)
        assert tuple(f.name for f in dataclasses.fields(cls)) == field_names(cls)
