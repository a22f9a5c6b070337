"""Make every record match its stream's schema, whatever the API sent (schema drift).

Targets validate records against the SCHEMA message, so one unexpected value would
fail a load far from its cause. Each record is fitted to its schema here, once:
- a top-level field the schema does not know is dropped (it has no column to go to);
- a value of the wrong type is converted when the meaning is plain ("42" for an
  integer, 42 for a string, "x" for an array of strings), otherwise it becomes null;
- a date or date-time that does not parse becomes null.
Each kind of change is logged once per stream and field, not once per record.

Primary keys are the exception: a key that is missing, null, or cannot be converted
would collide with other records in the warehouse, so it raises
:class:`InvalidKeyError` instead of becoming null; the stream decides what follows.
"""

from __future__ import annotations

import itertools
import logging
import typing as t
from datetime import UTC, date, datetime

NoneType = type(None)
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (NoneType,),
}


class _Shape:
    __slots__ = ("fmt", "items", "plain", "props", "types")

    def __init__(self, schema: dict) -> None:
        kinds = schema.get("type", [])
        kinds = [kinds] if isinstance(kinds, str) else kinds
        self.types: frozenset[type] = frozenset(py for k in kinds for py in _PY_TYPES.get(k, ()))
        self.fmt = schema.get("format") if str in self.types else None
        props = schema.get("properties")
        self.props = {k: _Shape(v) for k, v in props.items()} if props else None
        items = schema.get("items")
        self.items = _Shape(items) if isinstance(items, dict) and items.get("type") else None
        # A value of an allowed type needs no further look when nothing inside it is typed.
        self.plain = not (self.fmt or self.props or self.items)


#: "2026-05-01T03-05:00" -> "2026-05-01T08": the UTC date and hour of a local one, by offset.
_UTC_HOURS: dict[str, str] = {}


def utc(value: str) -> str | None:
    """A date-time in UTC with a ``Z``, the instant kept (None: not a date-time). Targets such as
    target-postgres store a time without its offset, so ``02:40-05:00`` must leave as ``07:40Z``.
    A value already in UTC with a ``Z`` comes back as the same object. Hot path: a whole-hour
    offset only moves the date and hour, which are looked up, not computed, once seen."""
    if value[4:5] != "-" or value[7:8] != "-":  # RFC 3339 wants the extended form
        return None
    try:
        moment = datetime.fromisoformat(value)  # 3.11+: "Z" included
    except ValueError:
        return None
    if value[-1] == "Z":
        return value
    if moment.tzinfo is None:  # no offset: the APIs mean UTC
        return value + "Z"
    tail = value[-6:]
    if tail == "+00:00":
        return value[:-6] + "Z"
    try:
        if tail[0] in "+-" and tail[3:] == ":00" and value[13:14] == ":":
            key = value[:13] + tail
            hour = _UTC_HOURS.get(key)
            if hour is None:
                if len(_UTC_HOURS) > 100_000:
                    _UTC_HOURS.clear()
                hour = _UTC_HOURS[key] = moment.astimezone(UTC).isoformat()[:13]
            return hour + value[13:-6] + "Z"
        return moment.astimezone(UTC).isoformat()[:-6] + "Z"  # ends "+00:00"
    except OverflowError:  # 9999-12-31T23:30:00-05:00: past year 9999 in UTC, a bad value
        return None


def _parses(value: str, fmt: str) -> bool:
    if value[4:5] != "-" or value[7:8] != "-":  # RFC 3339 wants the extended form, not 20260101
        return False
    try:
        (datetime if fmt == "date-time" else date).fromisoformat(value)  # 3.11+: "Z" included
    except ValueError:
        return False
    return True


def _convert(value: t.Any, shape: _Shape) -> tuple[bool, t.Any]:
    """(True, converted) when the value plainly means something of an allowed type."""
    types = shape.types
    if int in types and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return True, int(value)
    if int in types and isinstance(value, float) and value.is_integer():
        return True, int(value)
    if float in types and isinstance(value, str):
        try:
            return True, float(value)
        except ValueError:
            pass
    if bool in types and isinstance(value, str) and value.lower() in ("true", "false"):
        return True, value.lower() == "true"
    if str in types and isinstance(value, (int, float)):
        return True, ("true" if value else "false") if isinstance(value, bool) else str(value)
    if list in types and not isinstance(value, (list, dict)) and shape.items is not None:
        if type(value) in shape.items.types:
            return True, [value]
    return False, None


_MISSING = object()


class InvalidKeyError(ValueError):
    """A record's primary key field is missing or does not fit its schema."""

    def __init__(self, field: str, value: t.Any) -> None:
        self.field = field
        self.value = value
        shown = "missing" if value is _MISSING else f"{value!r}"[:80]
        super().__init__(f"primary key field {field} is {shown}")


def _check(shape: _Shape) -> t.Callable[[t.Any], bool]:
    """A test that a value needs nothing from ``RecordShaper._fit`` (no change, no warning)."""
    types = shape.types
    if not types:
        return lambda value: True
    if shape.plain:
        return lambda value: type(value) in types
    fmt = shape.fmt
    if fmt == "date-time":  # a time that is not in UTC yet needs the shaper
        return lambda value: type(value) in types and (type(value) is not str or utc(value) is value)
    if fmt is not None:
        return lambda value: type(value) in types and (type(value) is not str or _parses(value, fmt))
    if shape.props:
        return _written(shape.props, types)
    item = shape.items
    assert item is not None
    if item.plain:  # the types of a list's items, looked at in C
        item_types = item.types
        return lambda value: (
            type(value) in types and (type(value) is not list or item_types.issuperset(map(type, value)))
        )
    check_item = _check(item)
    return lambda value: type(value) in types and (type(value) is not list or all(map(check_item, value)))


def _written(props: dict[str, _Shape], types: frozenset[type] | None, keys: tuple[str, ...] = ()) -> t.Callable:
    """The test of an object's fields, written out for these fields. The fields of plain types
    are tested in one pass in C (``map`` over the field names, each value's type looked up in
    its allowed set; an absent field's stand-in is of type ``object``, allowed everywhere); the
    others (dates, nested objects and lists) one by one in straight-line code.
    ``types`` None: the record itself (unknown fields are the shaper's to drop, keys must be set)."""
    plain = {name: shape for name, shape in props.items() if shape.plain and shape.types}
    namespace: dict[str, t.Any] = {
        "ABSENT": _MISSING,
        "KNOWN": frozenset(props),
        "TYPES": types,
        "NAMES": tuple(plain),
        "ALLOWED": tuple(shape.types | {object} for shape in plain.values()),
        "allowed": frozenset.__contains__,
        "absent": itertools.repeat(_MISSING),
    }
    lines = ["def fits(record):"]
    if types is None:
        lines.append("    if not record.keys() <= KNOWN: return False")
    else:
        lines.append("    if type(record) is not dict: return type(record) in TYPES")
    lines.append("    get = record.get")
    if plain:
        lines.append("    if not all(map(allowed, ALLOWED, map(type, map(get, NAMES, absent)))): return False")
    namespace["utc"], namespace["parse"] = utc, datetime.fromisoformat
    for i, (name, shape) in enumerate(props.items()):
        if name in plain or not shape.types:
            continue
        lines.append(f"    v = get({name!r}, ABSENT)")
        if shape.fmt == "date-time" and types is None:  # a record's own times: put in UTC here
            namespace[f"T{i}"] = shape.types
            # Already in UTC with a Z (the docs' form): parsed to check it, and kept as it is.
            lines += [
                f"    if v is not ABSENT and type(v) not in T{i}: return False",
                "    if type(v) is str:",
                '        if v[-1:] == "Z" and v[4:5] == "-" and v[7:8] == "-":',
                "            try: parse(v)",
                "            except ValueError: return False",
                "        else:",
                "            u = utc(v)",
                "            if u is None: return False",
                f"            if u is not v: record[{name!r}] = u",
            ]
            continue
        item = shape.items
        if item is not None and item.plain and not shape.props and not shape.fmt:
            # A list of plain items (tags, locations): its test written inline, not called.
            namespace[f"T{i}"], namespace[f"I{i}"] = shape.types, item.types
            lines.append(
                f"    if v is not ABSENT and (type(v) not in T{i} or "
                f"(type(v) is list and not I{i}.issuperset(map(type, v)))): return False"
            )
            continue
        namespace[f"C{i}"] = _check(shape)
        lines.append(f"    if v is not ABSENT and not C{i}(v): return False")
    lines += [f"    if get({key!r}) is None: return False" for key in keys]
    lines.append("    return True")
    exec("\n".join(lines), namespace)  # noqa: S102 - built above from the schema's field names, repr'd
    return namespace["fits"]


class RecordShaper:
    """Fits records of one stream to its schema (see the module's docstring)."""

    def __init__(self, stream_name: str, schema: dict, logger: logging.Logger, keys: t.Sequence[str] = ()) -> None:
        self.stream_name = stream_name
        self.root = _Shape(schema)
        self.logger = logger
        self.keys = tuple(keys)
        self._warned: set[tuple[str, str]] = set()
        self._fits = _written(self.root.props or {}, None, self.keys)

    def __call__(self, record: dict) -> dict:
        if self._fits(record):  # nearly every record: nothing to change, nothing to say
            return record
        keys = self.keys
        given = [record.get(k, _MISSING) for k in keys] if keys else None
        props = self.root.props or {}
        unknown = None
        for key, value in record.items():
            shape = props.get(key)
            if shape is None:
                unknown = [*(unknown or []), key]
                continue
            if shape.plain and type(value) in shape.types:
                continue
            fitted = self._fit(value, shape, key)
            if fitted is not value:
                record[key] = fitted
        if unknown:
            for key in unknown:
                del record[key]
                self._warn(key, "is not in the stream's schema: dropped")
        if given is not None:
            for key, value in zip(keys, given, strict=True):
                if record.get(key) is None:
                    raise InvalidKeyError(key, value)
        return record

    def _fit(self, value: t.Any, shape: _Shape, path: str) -> t.Any:
        """``value`` fitted to ``shape``. Hot path: plain children are checked inline, and
        the path of a nested field is only spelled out when something is wrong there."""
        kind = type(value)
        if kind not in shape.types:
            if not shape.types:  # the schema allows anything here
                return value
            ok, converted = _convert(value, shape)
            if ok:
                self._warn(path, f"came as {kind.__name__}: converted")
                return self._fit(converted, shape, path)
            self._warn(path, f"came as {kind.__name__}, which its schema does not allow: emitted as null")
            return None
        if shape.fmt == "date-time":
            if kind is str:
                moment = utc(value)
                if moment is None:
                    self._warn(path, "is not a valid date-time: emitted as null")
                return moment
        elif shape.fmt is not None:
            if kind is str and not _parses(value, shape.fmt):
                self._warn(path, f"is not a valid {shape.fmt}: emitted as null")
                return None
        elif kind is dict and shape.props:
            props = shape.props
            for key, item in value.items():
                sub = props.get(key)
                if sub is None or (sub.plain and type(item) in sub.types):
                    continue
                fitted = self._fit(item, sub, f"{path}.{key}")
                if fitted is not item:
                    value[key] = fitted
        elif kind is list and shape.items is not None:
            sub = shape.items
            plain, types = sub.plain, sub.types
            for i, item in enumerate(value):
                if plain and type(item) in types:
                    continue
                fitted = self._fit(item, sub, f"{path}[]")
                if fitted is not item:
                    value[i] = fitted
        return value

    def _warn(self, path: str, what: str) -> None:
        if (path, what) not in self._warned:
            self._warned.add((path, what))
            self.logger.warning("Stream %s: field %s %s (further cases not logged).", self.stream_name, path, what)
