"""Percentiles and CPU accounting for the benchmarks. The arithmetic is pure; `CpuMeter` reads psutil."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import psutil


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def ms(micros: float | None) -> float | None:
    """Microseconds to milliseconds, rounded for a report."""
    return None if micros is None else round(micros / 1000.0, 1)


class CpuMeter:
    """CPU seconds used by a set of processes (a root and, optionally, its descendants) between samples.

    Processes that appear between two samples count from zero; processes that exit in between are lost,
    so the figure is a lower bound for short-lived children (PostgreSQL keeps its backends for the pool).
    """

    def __init__(self, pid: int, *, children: bool = False) -> None:
        self.root = psutil.Process(pid)
        self.children = children
        self._start: dict[int, float] = {}

    def _processes(self) -> Iterable[psutil.Process]:
        yield self.root
        if self.children:
            yield from self.root.children(recursive=True)

    def _sample(self) -> dict[int, float]:
        seen: dict[int, float] = {}
        for proc in self._processes():
            try:
                times = proc.cpu_times()
            except psutil.Error:  # exited between listing and reading
                continue
            seen[proc.pid] = times.user + times.system
        return seen

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> float:
        """CPU seconds used since `start`."""
        end = self._sample()
        return sum(max(0.0, used - self._start.get(pid, 0.0)) for pid, used in end.items())
