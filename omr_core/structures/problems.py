"""Problems found in input data: what, where (file and record), and what was done about it."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Problem:
    """One problem with one record.

    Attributes:
        kind: short machine-readable name, e.g. "nan_coordinates", "malformed_json".
        file: the file the record came from.
        record: the record's id ("annotation 41408", "image 410", "line 3") or position ("byte 1234").
        message: what was expected and what came.
        action: what was done: "dropped", "clipped", "kept", "skipped" or "stopped" (nothing after it was read).
    """

    kind: str
    file: str
    record: str
    message: str
    action: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.message} [{self.action}]"


@dataclass
class ProblemLog:
    """Collects problems; keeps every count but only the first `max_listed` of each kind in full."""

    max_listed: int = 1000
    problems: list[Problem] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def add(self, problem: Problem) -> None:
        self.counts[(problem.kind, problem.action)] += 1
        if self.counts[(problem.kind, problem.action)] <= self.max_listed:
            self.problems.append(problem)

    def extend(self, problems) -> None:
        for problem in problems:
            self.add(problem)

    def merge(self, other: "ProblemLog") -> None:
        """Add another log: its counts in full, its listed problems up to this log's limit per kind."""
        for (kind, action), n in other.counts.items():
            listed = [p for p in other.problems if (p.kind, p.action) == (kind, action)]
            room = max(0, self.max_listed - self.counts[(kind, action)])
            self.problems.extend(listed[:room])
            self.counts[(kind, action)] += n

    def __len__(self) -> int:
        return sum(self.counts.values())

    def count(self, kind: str) -> int:
        return sum(n for (k, _), n in self.counts.items() if k == kind)

    def to_dict(self) -> dict:
        return {
            "total": len(self),
            "counts": [{"kind": k, "action": a, "count": n} for (k, a), n in sorted(self.counts.items())],
            "listed": [asdict(p) for p in self.problems],
        }
