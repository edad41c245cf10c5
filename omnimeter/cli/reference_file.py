"""Reading a reference file (directory, price books) from disk for `omnimeter ... apply`: a missing, oversized
or non-UTF-8 file is refused with one line (`ReferenceDataError`), never a traceback; an oversized file is
refused from its size, before it is read."""

from __future__ import annotations

from pathlib import Path

from omnimeter.schemas.bounds import MAX_YAML_BYTES
from omnimeter.schemas.problems import Problem, ReferenceDataError


def read_reference_file(path: Path) -> str:
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ReferenceDataError(
                [Problem(file, "", f"{size} bytes is more than the limit of {MAX_YAML_BYTES} bytes")], "too_large"
            )
        data = path.read_bytes()
    except OSError as e:
        raise ReferenceDataError([Problem(file, "", f"cannot read: {e.strerror or e}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ReferenceDataError([Problem(file, "", f"not UTF-8 at byte {e.start}")], "not_utf8") from None
