"""Reference-data files (directory, price books) are checked whole: every problem is listed at once,
each with the file, the path inside it and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from omnimeter.errors import BadInput


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(top)'}: {self.message}"


class ReferenceDataError(BadInput):
    """A directory or price-book file is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems))


def from_validation(file: str, e: ValidationError) -> list[Problem]:
    return [Problem(file, ".".join(str(p) for p in err["loc"]), err["msg"]) for err in e.errors(include_url=False)]


def load_yaml(text: str, file: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ReferenceDataError([Problem(file, where, f"not valid YAML: {getattr(e, 'problem', e)}")]) from None
