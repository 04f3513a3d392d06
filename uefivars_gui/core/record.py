"""``@value``: frozen, slotted value classes that are cheap to define.

Why this exists: start-up time of the ``uefivars`` command line (issue 2: ``uefivars
show`` must take at most half the wall time of ``virt-fw-vars --print``). The core and
codec modules define about 80 small frozen value classes. ``@dataclass(frozen=True,
slots=True)`` builds each of them by generating the source of ~6 methods and ``exec()``-ing
it, which measured 0.47 ms per class on CPython 3.11 (36 classes: 18 ms of the 19 ms it
took to import ``core.devicepath``), and ``import dataclasses`` itself pulls in
``inspect`` (with ``ast``, ``dis``, ``tokenize``...), about 8 ms more. ``@value`` gives the
same classes for about 0.03 ms each (the methods are shared functions reading per-class
data; only ``__eq__``/``__hash__`` are small closures) and never imports ``dataclasses``
unless someone asks for dataclass metadata. docs/performance.md has the whole story.

Semantics are those of ``@dataclass(frozen=True, slots=True)`` (the only form this code
base uses):

* ``__init__`` taking the fields positionally or by keyword, with defaults,
  ``field(default_factory=...)``, ``field(init=False)`` and ``__post_init__``;
* ``__repr__`` (fields with ``repr=False`` left out, recursion-safe), ``__eq__`` (same
  class only; fields with ``compare=False`` left out), ``__hash__`` (the same value
  dataclasses compute), unless the class defines them; ``eq=False`` as in dataclasses;
* assignment and deletion raise :class:`dataclasses.FrozenInstanceError`;
* ``__slots__``, ``__match_args__``, pickling and copying (``__getstate__`` /
  ``__setstate__``), the generated ``__doc__``, ``inspect.signature()``, inheritance
  between ``@value`` classes (and from plain classes, ``super()`` included);
* ``dataclasses.fields()``, ``replace()``, ``asdict()``, ``astuple()`` and
  ``is_dataclass()`` work: ``__dataclass_fields__`` is built (with real
  ``dataclasses.Field`` objects) the first time it is read.

Per instance, the generic ``__init__`` costs about twice the generated one of
dataclasses (~0.9 µs instead of ~0.4 µs for three fields); a class instantiated more than
:data:`SPECIALIZE_AFTER` times gets a generated ``__init__`` of its own (one ``exec``, ~50
µs), so long-running code (the GUI, the device model) pays nothing per instance.

Not supported (a ``TypeError`` says so): ``InitVar``, ``KW_ONLY``, a ``@value`` class
inheriting from a dataclass, ``order=True``.
"""

from __future__ import annotations

from _thread import get_ident
from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:  # importing typing at run time would cost start-up time
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar, dataclass_transform, overload

    _T = TypeVar("_T")

#: Calls of the generic ``__init__`` after which a class gets a generated one.
SPECIALIZE_AFTER = 100

_object_setattr = object.__setattr__


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: No default (like ``dataclasses.MISSING``).
MISSING: Any = _Missing()


class RecordField:
    """One field of a ``@value`` class (what :func:`field` returns, like ``dataclasses.Field``)."""

    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "hash", "compare", "metadata")

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        init: bool,
        repr: bool,
        hash: bool | None,
        compare: bool,
        metadata: Mapping[Any, Any] | None,
    ) -> None:
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = metadata

    def _named(self, name: str, annotation: Any) -> RecordField:
        copy = RecordField(self.default, self.default_factory, self.init, self.repr, self.hash, self.compare,
                           self.metadata)
        copy.name = name
        copy.type = annotation
        return copy

    def __repr__(self) -> str:
        return (f"RecordField(name={self.name!r}, type={self.type!r}, default={self.default!r}, "
                f"default_factory={self.default_factory!r}, init={self.init!r}, repr={self.repr!r}, "
                f"hash={self.hash!r}, compare={self.compare!r}, metadata={self.metadata!r})")


if TYPE_CHECKING:
    # The signatures type checkers see; the run-time definitions follow (typing.overload
    # and dataclass_transform are not available without importing typing).

    @overload
    def field(
        *,
        default: _T,
        init: bool = ...,
        repr: bool = ...,
        hash: bool | None = ...,
        compare: bool = ...,
        metadata: Mapping[Any, Any] | None = ...,
    ) -> _T: ...

    @overload
    def field(
        *,
        default_factory: Callable[[], _T],
        init: bool = ...,
        repr: bool = ...,
        hash: bool | None = ...,
        compare: bool = ...,
        metadata: Mapping[Any, Any] | None = ...,
    ) -> _T: ...

    @overload
    def field(
        *,
        init: bool = ...,
        repr: bool = ...,
        hash: bool | None = ...,
        compare: bool = ...,
        metadata: Mapping[Any, Any] | None = ...,
    ) -> Any: ...

    def field(
        *,
        default: Any = ...,
        default_factory: Any = ...,
        init: bool = ...,
        repr: bool = ...,
        hash: bool | None = ...,
        compare: bool = ...,
        metadata: Mapping[Any, Any] | None = ...,
    ) -> Any: ...

    @overload
    def value(cls: type[_T], /) -> type[_T]: ...

    @overload
    def value(*, eq: bool = ..., order: bool = ...) -> Callable[[type[_T]], type[_T]]: ...

    @dataclass_transform(frozen_default=True, field_specifiers=(field, RecordField))
    def value(cls: Any = None, /, *, eq: bool = True, order: bool = False) -> Any: ...

else:

    def field(
        *,
        default=MISSING,
        default_factory=MISSING,
        init=True,
        repr=True,
        hash=None,
        compare=True,
        metadata=None,
    ):
        """Like :func:`dataclasses.field`, for ``@value`` classes."""
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        return RecordField(default, default_factory, init, repr, hash, compare, metadata)

    def value(cls=None, /, *, eq=True, order=False):
        """``@dataclass(frozen=True, slots=True)`` without its definition cost (see the module doc)."""
        if order:
            raise TypeError("@value does not support order=True")

        def wrap(cls):
            return _make_class(cls, eq)

        return wrap if cls is None else wrap(cls)


def fields_of(class_or_instance: Any) -> tuple[RecordField, ...]:
    """The fields of a ``@value`` class or instance, in ``__init__`` order (cheap)."""
    return class_or_instance.__record_fields__  # type: ignore[no-any-return]


def field_names(class_or_instance: Any) -> tuple[str, ...]:
    """The field names of a ``@value`` class or instance, in ``__init__`` order (cheap)."""
    return class_or_instance.__record_names__  # type: ignore[no-any-return]


def replace(obj: _T, /, **changes: Any) -> _T:
    """:func:`dataclasses.replace` for ``@value`` instances (and any dataclass instance)."""
    record_fields = getattr(type(obj), "__record_fields__", None)
    if record_fields is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    for f in record_fields:
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


# --- building a class -----------------------------------------------------------------


def _annotation_head(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation.split("[", 1)[0].strip()
    import typing

    origin = typing.get_origin(annotation) or annotation
    if origin is typing.ClassVar:
        return "ClassVar"
    import dataclasses

    if origin is dataclasses.KW_ONLY:
        return "KW_ONLY"
    if origin is dataclasses.InitVar or isinstance(annotation, dataclasses.InitVar):
        return "InitVar"
    return ""


def _is_mutable_default(default: Any) -> bool:
    # What dataclasses refuse: an unhashable default (list, dict, set...).
    return type(default).__hash__ is None


def _collect_fields(cls: type) -> dict[str, RecordField]:
    fields: dict[str, RecordField] = {}
    for base in cls.__mro__[-1:0:-1]:
        base_fields = base.__dict__.get("__record_fields__")
        if base_fields is not None:
            for f in base_fields:
                fields[f.name] = f
        elif "__dataclass_fields__" in base.__dict__:
            raise TypeError(f"{cls.__name__}: a @value class cannot inherit from the dataclass {base.__name__}")
    ns = cls.__dict__
    annotations = ns.get("__annotations__", {})
    for name, annotation in annotations.items():
        head = _annotation_head(annotation)
        if head in ("ClassVar", "typing.ClassVar"):
            continue
        if head in ("InitVar", "dataclasses.InitVar", "KW_ONLY", "dataclasses.KW_ONLY"):
            raise TypeError(f"{cls.__name__}.{name}: @value does not support {head}")
        default = ns.get(name, MISSING)
        if isinstance(default, RecordField):
            f = default._named(name, annotation)
        else:
            f = RecordField(default, MISSING, True, True, None, True, None)
            f.name = name
            f.type = annotation
        if f.default is not MISSING and _is_mutable_default(f.default):
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory"
            )
        fields[name] = f
    for name, attribute in ns.items():
        if isinstance(attribute, RecordField) and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    seen_default = False
    for f in fields.values():
        if not f.init:
            continue
        if f.default is MISSING and f.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = True
    return fields


def _inherited_slots(cls: type) -> set[str]:
    slots: set[str] = set()
    for base in cls.__mro__[1:-1]:
        declared = base.__dict__.get("__slots__", ())
        slots.update((declared,) if isinstance(declared, str) else declared)
    return slots


def _make_class(cls: type, eq: bool) -> type:
    ns = cls.__dict__
    if "__slots__" in ns:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    fields = tuple(_collect_fields(cls).values())
    names = tuple(f.name for f in fields)

    # Everything a class needs that does not depend on its fields is a shared function
    # (no per-class exec, few per-class closures); per-class data lives in __record_*__.
    new_ns = dict(ns)
    for name in names:
        new_ns.pop(name, None)
    new_ns.pop("__dict__", None)
    new_ns.pop("__weakref__", None)
    inherited = _inherited_slots(cls)
    new_ns["__slots__"] = tuple(name for name in names if name not in inherited)
    new_ns["__record_fields__"] = fields
    new_ns["__record_names__"] = names
    new_ns["__record_init__"] = None  # built on the first instantiation
    new_ns["__dataclass_fields__"] = _DATACLASS_FIELDS
    new_ns["__signature__"] = _SIGNATURE
    if "__init__" not in ns:
        new_ns["__init__"] = _record_init
    if "__repr__" not in ns:
        new_ns["__repr__"] = _record_repr
    if eq:
        if "__eq__" not in ns:
            new_ns["__eq__"] = _eq_fn(_tuple_getter(tuple(f.name for f in fields if f.compare)))
        class_hash = ns.get("__hash__", MISSING)
        explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in ns))
        if not explicit_hash:
            new_ns["__hash__"] = _hash_fn(
                _tuple_getter(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
            )
    for name, method in (("__setattr__", _record_setattr), ("__delattr__", _record_delattr)):
        if name in ns:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        new_ns[name] = method
    if "__getstate__" not in ns:
        new_ns["__getstate__"] = _record_getstate
    if "__setstate__" not in ns:
        new_ns["__setstate__"] = _record_setstate
    if "__replace__" not in ns:
        new_ns["__replace__"] = replace
    if "__match_args__" not in ns:
        new_ns["__match_args__"] = tuple(f.name for f in fields if f.init)
    if not ns.get("__doc__"):
        new_ns["__doc__"] = cls.__name__ + _signature_text(fields)

    new_cls = type(cls)(cls.__name__, cls.__bases__, new_ns)
    type.__setattr__(new_cls, "__qualname__", cls.__qualname__)
    type.__setattr__(new_cls, "__record_class__", new_cls)
    _fix_class_cells(ns, cls, new_cls)
    return new_cls


def _fix_class_cells(ns: Any, old: type, new: type) -> None:
    # Methods using zero-argument super() or __class__ refer to the class the class
    # statement made; point them at the slotted class that replaces it.
    for attribute in ns.values():
        if isinstance(attribute, property):
            functions: tuple[Any, ...] = (attribute.fget, attribute.fset, attribute.fdel)
        else:
            functions = (getattr(attribute, "__func__", attribute),)
        for function in functions:
            closure = getattr(function, "__closure__", None)
            if not closure:
                continue
            for cell in closure:
                try:
                    if cell.cell_contents is old:
                        cell.cell_contents = new
                except ValueError:  # an empty cell
                    pass


def _signature_text(fields: tuple[RecordField, ...]) -> str:
    # What dataclasses put in __doc__: the name and inspect.signature() of the class.
    parts = []
    for f in fields:
        if not f.init:
            continue
        text = f"{f.name}: {f.type!r}" if isinstance(f.type, str) else f"{f.name}: {_type_text(f.type)}"
        if f.default_factory is not MISSING:
            text += " = <factory>"
        elif f.default is not MISSING:
            text += f" = {f.default!r}"
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, type):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation).replace("typing.", "")


def _tuple_getter(names: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    if len(names) > 1:
        return attrgetter(*names)
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


def _eq_fn(values: Callable[[object], tuple[Any, ...]]) -> Callable[[object, object], Any]:
    def __eq__(self: object, other: object) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash_fn(values: Callable[[object], tuple[Any, ...]]) -> Callable[[object], int]:
    def __hash__(self: object) -> int:
        return hash(values(self))

    return __hash__


_repr_running: set[tuple[int, int]] = set()


def _record_repr(self: Any) -> str:
    key = (id(self), get_ident())
    if key in _repr_running:
        return "..."
    _repr_running.add(key)
    try:
        body = ", ".join([f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr])
    finally:
        _repr_running.discard(key)
    return f"{self.__class__.__qualname__}({body})"


def _record_setattr(self: Any, name: str, value: object) -> None:
    cls = self.__record_class__
    if type(self) is cls or name in cls.__record_names__:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    super(cls, self).__setattr__(name, value)


def _record_delattr(self: Any, name: str) -> None:
    cls = self.__record_class__
    if type(self) is cls or name in cls.__record_names__:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")
    super(cls, self).__delattr__(name)


def _record_getstate(self: Any) -> list[Any]:
    return [getattr(self, name) for name in self.__record_names__]


def _record_setstate(self: Any, state: list[Any]) -> None:
    for name, item in zip(self.__record_names__, state, strict=False):
        _object_setattr(self, name, item)


class _DataclassFields:
    """``__dataclass_fields__``, built with real ``dataclasses.Field`` objects on first read."""

    __slots__ = ()

    def __get__(self, obj: object, objtype: Any = None) -> dict[str, Any]:
        import dataclasses

        owner: Any = objtype or type(obj)
        cls = owner.__record_class__
        result: dict[str, Any] = {}
        for f in cls.__record_fields__:
            real: Any = dataclasses.field(
                default=dataclasses.MISSING if f.default is MISSING else f.default,
                default_factory=dataclasses.MISSING if f.default_factory is MISSING else f.default_factory,
                init=f.init,
                repr=f.repr,
                hash=f.hash,
                compare=f.compare,
                metadata=f.metadata,
            )
            real.name = f.name
            real.type = f.type
            real._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
            if getattr(real, "kw_only", False) is dataclasses.MISSING:
                real.kw_only = False
            result[f.name] = real
        type.__setattr__(cls, "__dataclass_fields__", result)
        return result


class _Factory:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


class _Signature:
    """``__signature__`` of the class (what ``inspect.signature`` and ``help`` show), built on
    first read: the generic ``__init__`` takes ``*args, **kwargs``."""

    __slots__ = ()

    def __get__(self, obj: object, objtype: Any = None) -> Any:
        if obj is not None:
            return None
        # The class whose __init__ a call runs: only ours take *args, **kwargs.
        cls = next(klass for klass in objtype.__mro__ if "__init__" in klass.__dict__)
        init = cls.__dict__["__init__"]
        if init is not _record_init and not getattr(init, "__record_generated__", False):
            return None  # inspect reads that __init__ itself
        import inspect

        parameters = []
        for f in cls.__record_fields__:
            if not f.init:
                continue
            default: Any
            if f.default_factory is not MISSING:
                default = _FACTORY
            elif f.default is not MISSING:
                default = f.default
            else:
                default = inspect.Parameter.empty
            parameters.append(
                inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=f.type)
            )
        return inspect.Signature(parameters, return_annotation=None)


_DATACLASS_FIELDS = _DataclassFields()
_SIGNATURE = _Signature()


# --- __init__ --------------------------------------------------------------------------


def _record_init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = self.__record_class__
    spec = cls.__record_init__
    if spec is None:
        spec = _init_spec(cls)
    names, count, others, post_init, calls, defaults, required = spec[:7]
    if kwargs or len(args) != count:
        if not kwargs and defaults is not None and required <= len(args) < count:
            args += defaults[len(args) :]  # trailing fields left to their plain defaults
        else:
            args = _bind(cls, spec, args, kwargs)
    for name, item in zip(names, args, strict=False):
        _object_setattr(self, name, item)
    if others:
        for name, default, factory in others:
            if factory is not MISSING:
                _object_setattr(self, name, factory())
            elif default is not MISSING:
                _object_setattr(self, name, default)
    if post_init:
        self.__post_init__()
    calls[0] += 1
    if calls[0] == SPECIALIZE_AFTER and cls.__dict__.get("__init__") is _record_init:
        type.__setattr__(cls, "__init__", _specialized_init(cls.__record_fields__, post_init, cls.__qualname__))


def _init_spec(cls: Any) -> tuple[Any, ...]:
    """What the generic ``__init__`` needs of a class, worked out on its first instance."""
    fields = cls.__record_fields__
    init_fields = tuple(f for f in fields if f.init)
    spec = (
        tuple(f.name for f in init_fields),
        len(init_fields),
        tuple((f.name, f.default, f.default_factory) for f in fields if not f.init),
        hasattr(cls, "__post_init__"),
        [0],
        # The defaults by position, when none is a factory (the fast path for a call
        # that leaves trailing fields out), else None.
        None
        if any(f.default_factory is not MISSING for f in init_fields)
        else tuple(f.default for f in init_fields),
        sum(1 for f in init_fields if f.default is MISSING and f.default_factory is MISSING),
        # For calls with keywords: the position of each name, and the fields.
        {f.name: i for i, f in enumerate(init_fields)},
        init_fields,
    )
    type.__setattr__(cls, "__record_init__", spec)
    return spec


def _bind(cls: Any, spec: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The full argument tuple for a call with keywords or defaults, or the TypeError
    Python raises for a bad call of a generated ``__init__``."""
    count, required, index, init_fields = spec[1], spec[6], spec[7], spec[8]
    if len(args) > count:
        takes = f"{count + 1}" if required == count else f"from {required + 1} to {count + 1}"
        plural = "argument" if takes == "1" else "arguments"
        raise TypeError(f"{cls.__qualname__}.__init__() takes {takes} positional {plural} but {len(args) + 1} were given")
    values = [*args, *([MISSING] * (count - len(args)))]
    for key, item in kwargs.items():
        i = index.get(key)
        if i is None:
            raise TypeError(f"{cls.__qualname__}.__init__() got an unexpected keyword argument {key!r}")
        if values[i] is not MISSING:
            raise TypeError(f"{cls.__qualname__}.__init__() got multiple values for argument {key!r}")
        values[i] = item
    missing = []
    for i in range(count):
        if values[i] is MISSING:
            f = init_fields[i]
            if f.default_factory is not MISSING:
                values[i] = f.default_factory()
            elif f.default is not MISSING:
                values[i] = f.default
            else:
                missing.append(repr(f.name))
    if missing:
        listed = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        plural = "argument" if len(missing) == 1 else "arguments"
        raise TypeError(f"{cls.__qualname__}.__init__() missing {len(missing)} required positional {plural}: {listed}")
    return tuple(values)


def _specialized_init(fields: tuple[RecordField, ...], post_init: bool, qualname: str) -> Any:
    """The ``__init__`` dataclasses would generate (one exec), for busy classes."""
    params = ["__record_self__"]
    body = []
    env: dict[str, Any] = {"__record_setattr__": _object_setattr, "__record_factory__": MISSING}
    for i, f in enumerate(fields):
        target = f"__record_self__, {f.name!r}"
        if f.init:
            if f.default_factory is not MISSING:
                env[f"__record_f{i}__"] = f.default_factory
                params.append(f"{f.name}=__record_factory__")
                body.append(
                    f"__record_setattr__({target}, __record_f{i}__() if {f.name} is __record_factory__ else {f.name})"
                )
                continue
            if f.default is not MISSING:
                env[f"__record_d{i}__"] = f.default
                params.append(f"{f.name}=__record_d{i}__")
            else:
                params.append(f.name)
            body.append(f"__record_setattr__({target}, {f.name})")
        elif f.default_factory is not MISSING:
            env[f"__record_f{i}__"] = f.default_factory
            body.append(f"__record_setattr__({target}, __record_f{i}__())")
        elif f.default is not MISSING:
            env[f"__record_d{i}__"] = f.default
            body.append(f"__record_setattr__({target}, __record_d{i}__)")
    if post_init:
        body.append("__record_self__.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<@value {qualname}.__init__>", "exec"), env, namespace)
    function = namespace["__init__"]
    function.__qualname__ = f"{qualname}.__init__"
    function.__record_generated__ = True
    return function
