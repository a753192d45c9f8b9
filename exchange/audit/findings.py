"""What verification found: problems, each naming the first bad sequence number it implies."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (the first bad sequence number it implies), what, and detail."""

    seq: int | None
    kind: str
    detail: str


@dataclass
class VerifyResult:
    """The outcome of a verification run."""

    size: int
    from_seq: int
    entries_checked: int = 0
    checkpoints_checked: int = 0
    witness_checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether nothing was wrong."""
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        """The lowest sequence number any problem points at."""
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    @property
    def rate(self) -> float:
        """Entries verified per second."""
        return self.entries_checked / self.seconds if self.seconds else 0.0
