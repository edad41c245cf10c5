"""Rows checked against their ClickHouse column types before an insert, so an insert does not fail (or,
worse, store a silently clamped value) on one row's data.

`RowChecker` is built from the column types the engine reports (``system.columns``) and answers, for one
row, the first value that does not fit, as ``"column: why"``; None when every value fits. The ranges are
ClickHouse's own: Date 1970-01-01..2149-06-06, DateTime ..2106-02-07, DateTime64 1900-01-01..2299-12-31
(outside, the engine clamps without an error), unsigned and signed integers by width, Decimal(P, S) at
most P - S integer digits and S decimals (more decimals would be cut without an error), strings that
encode as UTF-8 (a lone surrogate from a JSON escape does not), enum values by name. Types it does not
know are passed through unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Context, Decimal, InvalidOperation
from itertools import repeat
from typing import Any

Check = Callable[[Any], str | None]

DATE_MIN, DATE_MAX = date(1970, 1, 1), date(2149, 6, 6)
DATE32_MIN, DATE32_MAX = date(1900, 1, 1), date(2299, 12, 31)
DATETIME_MIN, DATETIME_MAX = datetime(1970, 1, 1, tzinfo=UTC), datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)
DATETIME64_MIN = datetime(1900, 1, 1, tzinfo=UTC)
DATETIME64_MAX = datetime(2299, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


class RowChecker:
    """Checks rows given in `columns` order against `types` (column name -> ClickHouse type)."""

    def __init__(self, columns: Sequence[str], types: Mapping[str, str]) -> None:
        self.columns = tuple(columns)
        self.checks = [check_for(types.get(c, "")) for c in self.columns]
        self.bulk = [bulk_for(types.get(c, "")) for c in self.columns]

    def problem(self, row: Sequence[Any]) -> str | None:
        for column, check, value in zip(self.columns, self.checks, row, strict=True):
            why = check(value)
            if why is not None:
                return f"{column}: {why}"
        return None

    def problems(self, rows: Sequence[Sequence[Any]]) -> dict[int, str]:
        """Index of each row that does not fit -> why. Column by column first (every value of a column
        at once: min, max, the set of types); only a column that may not fit is looked at row by row."""
        if not rows:
            return {}
        if {len(r) for r in rows} == {len(self.columns)}:
            if all(fits(column) for fits, column in zip(self.bulk, zip(*rows, strict=True), strict=True)):
                return {}
        out = {}
        for i, row in enumerate(rows):
            why = self.problem(row)
            if why is not None:
                out[i] = why
        return out


def check_for(ch_type: str) -> Check:
    t = ch_type.strip()
    for wrapper in ("LowCardinality", "Nullable"):
        if t.startswith(f"{wrapper}("):
            inner = check_for(t[len(wrapper) + 1 : -1])
            if wrapper == "Nullable":
                return lambda v: None if v is None else inner(v)
            return inner
    if t in ("String", "JSON") or t.startswith("FixedString("):
        return _string
    if t == "Date":
        return _date_between(DATE_MIN, DATE_MAX)
    if t == "Date32":
        return _date_between(DATE32_MIN, DATE32_MAX)
    if t == "DateTime" or t.startswith("DateTime("):
        return _datetime_between(DATETIME_MIN, DATETIME_MAX)
    if t.startswith("DateTime64("):
        return _datetime_between(DATETIME64_MIN, DATETIME64_MAX)
    m = re.fullmatch(r"(U?)Int(8|16|32|64|128|256)", t)
    if m:
        bits = int(m.group(2))
        lo, hi = (0, 2**bits - 1) if m.group(1) else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        return _int_between(lo, hi)
    m = re.fullmatch(r"Decimal\((\d+),\s*(\d+)\)", t)
    if m:
        return _decimal(int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"Enum(?:8|16)\((.*)\)", t)
    if m:
        return _enum(frozenset(re.findall(r"'((?:[^'\\]|\\.)*)'\s*=", m.group(1))))
    return lambda v: None


def _string(v: Any) -> str | None:
    if isinstance(v, bytes):
        return None
    if not isinstance(v, str):
        return f"expected a string, got {type(v).__name__}"
    try:
        str.encode(v)  # the text itself: a subclass's own encode is not what the driver writes
    except UnicodeEncodeError as e:
        return f"not encodable as UTF-8 at character {e.start}"
    return None


def _date_between(lo: date, hi: date) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, datetime) or not isinstance(v, date):
            return f"expected a date, got {type(v).__name__}"
        return None if lo <= v <= hi else f"{v.isoformat()} outside {lo.isoformat()}..{hi.isoformat()}"

    return check


def _datetime_between(lo: datetime, hi: datetime) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, datetime) or v.tzinfo is None:
            return f"expected a time with a zone, got {type(v).__name__}"
        try:
            fits = lo <= v <= hi
        except (OverflowError, TypeError, ValueError):  # a zone whose offset is None or a day or more
            fits = False
        return None if fits else f"{_iso(v)} outside {lo.isoformat()}..{hi.isoformat()}"

    return check


def _iso(v: datetime) -> str:
    try:
        return v.isoformat()
    except (TypeError, ValueError):  # its zone's offset is not a time difference of less than a day
        return repr(v)


def _int_between(lo: int, hi: int) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int):
            return f"expected an integer, got {type(v).__name__}"
        return None if lo <= v <= hi else f"{v} outside {lo}..{hi}"

    return check


def _decimal_bounds(precision: int, scale: int) -> tuple[Decimal, Decimal]:
    """The exclusive limit of |x| and the quantum of Decimal(precision, scale), exact (10 ** 50 computed
    in the default context would round to 28 digits)."""
    return Decimal(f"1E{precision - scale}"), Decimal(1).scaleb(-scale)


def _decimal(precision: int, scale: int) -> Check:
    limit, quantum = _decimal_bounds(precision, scale)

    def check(v: Any) -> str | None:
        if not isinstance(v, Decimal | int) or isinstance(v, bool):
            return f"expected a decimal, got {type(v).__name__}"
        d = Decimal(v)  # exact for any int
        if not d.is_finite():
            return f"{d} is not a finite number"
        if d.copy_abs() >= limit:  # copy_abs: no context, so no overflow for 1E+999999999
            return f"{d} does not fit Decimal({precision}, {scale}) (|x| < 10^{precision - scale})"
        try:
            exact = isinstance(v, int) or d.quantize(quantum, context=_WIDE) == d
        except InvalidOperation:
            exact = False
        return None if exact else f"{d} has more than {scale} decimals"

    return check


def _enum(names: frozenset[str]) -> Check:
    def check(v: Any) -> str | None:
        try:
            known = v in names
        except TypeError:  # unhashable
            known = False
        return None if known else f"{v!r} is not one of the enum's values"

    return check


# --- the same checks over a whole column at once (C-level aggregates), for the common case -------------

Fits = Callable[[Sequence[Any]], bool]


def bulk_for(ch_type: str) -> Fits:
    """A column check that answers True only when every value certainly passes `check_for(ch_type)`;
    False means "maybe not": the caller checks row by row (`RowChecker.problems`)."""
    t = ch_type.strip()
    if t.startswith("LowCardinality("):
        return bulk_for(t[len("LowCardinality(") : -1])
    if t.startswith("Nullable("):
        inner = bulk_for(t[len("Nullable(") : -1])
        return lambda vs: inner([v for v in vs if v is not None])
    if t in ("String", "JSON") or t.startswith("FixedString("):
        return _strings_fit
    if t in ("Date", "Date32"):
        lo, hi = (DATE_MIN, DATE_MAX) if t == "Date" else (DATE32_MIN, DATE32_MAX)
        return lambda vs: _exact_types(vs, date) and _between(vs, lo, hi)
    if t == "DateTime" or t.startswith("DateTime(") or t.startswith("DateTime64("):
        lo, hi = (DATETIME64_MIN, DATETIME64_MAX) if t.startswith("DateTime64(") else (DATETIME_MIN, DATETIME_MAX)
        return lambda vs: _exact_types(vs, datetime) and _zoned(vs) and _between(vs, lo, hi)
    m = re.fullmatch(r"(U?)Int(8|16|32|64|128|256)", t)
    if m:
        bits = int(m.group(2))
        lo_i, hi_i = (0, 2**bits - 1) if m.group(1) else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        return lambda vs: _exact_types(vs, int) and _between(vs, lo_i, hi_i)
    m = re.fullmatch(r"Decimal\((\d+),\s*(\d+)\)", t)
    if m:
        return _decimals_fit(int(m.group(1)), int(m.group(2)))
    m = re.fullmatch(r"Enum(?:8|16)\((.*)\)", t)
    if m:
        check = check_for(t)
        return lambda vs: _each_once(vs, check)
    return lambda vs: True


def _zoned(values: Sequence[datetime]) -> bool:
    try:
        return None not in {v.tzinfo for v in values}
    except TypeError:  # an unhashable zone (dateutil's)
        return all(v.tzinfo is not None for v in values)


def _each_once(values: Sequence[Any], check: Check) -> bool:
    try:
        distinct = set(values)
    except TypeError:  # unhashable values: the row check names them
        return False
    return all(check(v) is None for v in distinct)


def _exact_types(values: Sequence[Any], kind: type) -> bool:
    return set(map(type, values)) <= {kind}


def _between(values: Sequence[Any], lo: Any, hi: Any) -> bool:
    try:
        return not values or (lo <= min(values) and max(values) <= hi)
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return False


def _strings_fit(values: Sequence[Any]) -> bool:
    """Every value a string (or a str subclass such as an enum) or bytes, and every string encodable as
    UTF-8: checked on the strings joined, a chunk at a time (C loops; a lone surrogate stays lone when
    joined, so the joined text encodes exactly when each string does)."""
    kinds = set(map(type, values))
    if not all(issubclass(k, str | bytes) for k in kinds):
        return False
    texts = [v for v in values if not isinstance(v, bytes)] if any(issubclass(k, bytes) for k in kinds) else values
    for i in range(0, len(texts), _JOIN_CHUNK):
        joined = "".join(texts[i : i + _JOIN_CHUNK])
        if not joined.isascii():  # ASCII cannot hold a lone surrogate
            try:
                joined.encode()
            except UnicodeEncodeError:
                return False
    return True


# Quantizing in ClickHouse's widest Decimal (76 digits) must not round: Python's default context has 28.
_WIDE = Context(prec=100)
_JOIN_CHUNK = 1024  # strings joined at once (a bound on the copy: values are at most a record's size)


def _decimals_fit(precision: int, scale: int) -> Fits:
    limit, quantum = _decimal_bounds(precision, scale)

    def fits(values: Sequence[Any]) -> bool:
        kinds = set(map(type, values))
        if not kinds <= {Decimal, int}:
            return False
        try:
            if values and not (-limit < min(values) and max(values) < limit):  # NaN raises, infinities fail
                return False
            decimals = [d for d in values if type(d) is Decimal] if int in kinds else list(values)
            return list(map(Decimal.quantize, decimals, repeat(quantum), repeat(None), repeat(_WIDE))) == decimals
        except ArithmeticError:
            return False

    return fits
