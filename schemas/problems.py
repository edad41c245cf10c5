"""Reference-data files (directory, price books) are checked whole: every problem is listed at once,
each with the file, the path inside it and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from omnimeter.errors import BadInput
from omnimeter.schemas.bounds import MAX_YAML_BYTES, MAX_YAML_DEPTH


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(top)'}: {self.message}"


class ReferenceDataError(BadInput):
    """A directory or price-book file is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem], reason: str = "invalid") -> None:
        self.problems = problems
        self.reason = reason  # a closed set, for the refused-versions metric: invalid, too_large, too_deep, ...
        if len(problems) == 1:
            super().__init__(str(problems[0]))
        else:
            super().__init__(f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


def from_validation(file: str, e: ValidationError) -> list[Problem]:
    return [Problem(file, ".".join(str(p) for p in err["loc"]), err["msg"]) for err in e.errors(include_url=False)]


class _StrictLoader(yaml.SafeLoader):
    """The safe loader without anchors and aliases: a reference file never needs them, and an alias bomb of
    a few hundred bytes expands to gigabytes of Python objects."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)  # type: ignore[arg-type]
        if getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "anchors (&name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


class _Refused(Exception):
    def __init__(self, reason: str, where: str, message: str) -> None:
        self.reason, self.where, self.message = reason, where, message


def _check_shape(text: str) -> None:
    """Size, nesting depth and anchors/aliases, from the parser's events: before any Python object is built
    (the events come from libyaml when it is there; the parser keeps its own stack, never recursing)."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_YAML_BYTES:
        raise _Refused("too_large", "", f"{size} bytes is more than the limit of {MAX_YAML_BYTES} bytes")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        mark = event.start_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused("alias", where, "anchors and aliases (&name, *name) are not allowed")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _Refused("too_deep", where, f"nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(text: str, file: str) -> Any:
    """A reference file's document: size, depth and aliases checked first, then the strict safe loader."""
    try:
        _check_shape(text)
        return yaml.load(text, Loader=_StrictLoader)
    except _Refused as e:
        raise ReferenceDataError([Problem(file, e.where, e.message)], e.reason) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ReferenceDataError([Problem(file, where, f"not valid YAML: {getattr(e, 'problem', e)}")]) from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as e:  # e.g. a timestamp past year 9999
        raise ReferenceDataError([Problem(file, "", f"not valid YAML: {type(e).__name__}: {e}"[:300])]) from None
