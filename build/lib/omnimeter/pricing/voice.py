"""Billable call seconds under an X/Y increment (e.g. 60/60 per minute, 30/6, 1/1 per second).

billable = 0 for a call of 0 s or an unanswered one (unless the book bills them: `bill_unanswered`);
X for 0 < d <= X; X + ceil((d - X) / Y) * Y beyond.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Increment:
    first: int = 60  # X: the minimum billed once the call connects
    then: int = 60  # Y: the step after that

    def __post_init__(self) -> None:
        if self.first < 1 or self.then < 1:
            raise ValueError(f"increments must be >= 1 s, got {self.first}/{self.then}")

    @classmethod
    def parse(cls, text: str) -> Increment:
        first, _, then = text.partition("/")
        return cls(int(first), int(then or first))

    def billable(self, duration_s: int, answered: bool = True, bill_unanswered: bool = False) -> int:
        if duration_s < 0:
            raise ValueError(f"negative call duration {duration_s}")
        if duration_s == 0 or (not answered and not bill_unanswered):
            return 0
        if duration_s <= self.first:
            return self.first
        extra = duration_s - self.first
        return self.first + -(-extra // self.then) * self.then
