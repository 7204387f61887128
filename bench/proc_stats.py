"""Peak memory and CPU of server processes, read from ``/proc`` (no psutil needed).

``Sampler(pids)`` polls every ``interval`` seconds in a thread: ``VmRSS`` (its maximum seen)
and ``VmHWM`` (the kernel's own peak) from ``/proc/<pid>/status``, ``utime + stime`` from
``/proc/<pid>/stat`` (CPU time; 100 % = one core busy).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def memory_kb(pid: int) -> tuple[int, int] | None:
    """``(VmRSS, VmHWM)`` in kB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    vals = {k: int(v.split()[0]) for k, _, v in (ln.partition(":") for ln in lines)
            if k in ("VmRSS", "VmHWM")}  # fmt: skip
    return vals.get("VmRSS", 0), vals.get("VmHWM", 0)


@dataclass
class ProcStats:
    pid: int
    name: str
    cpu0: float | None = None
    cpu1: float | None = None
    peak_cpu_pct: float = 0.0  # busiest ``interval`` window
    peak_rss_kb: int = 0
    hwm_kb: int = 0
    _last: tuple[float, float] | None = field(default=None, repr=False)

    def sample(self) -> None:
        now, cpu = time.monotonic(), cpu_seconds(self.pid)
        mem = memory_kb(self.pid)
        if cpu is None or mem is None:
            return
        if self.cpu0 is None:
            self.cpu0 = cpu
        self.cpu1 = cpu
        if self._last is not None and now > self._last[0]:
            pct = 100 * (cpu - self._last[1]) / (now - self._last[0])
            self.peak_cpu_pct = max(self.peak_cpu_pct, pct)
        self._last = (now, cpu)
        self.peak_rss_kb = max(self.peak_rss_kb, mem[0])
        self.hwm_kb = max(self.hwm_kb, mem[1])


class Sampler:
    """Polls ``pids`` (a dict pid -> name) until ``stop()``; ``report()`` after."""

    def __init__(self, pids: dict[int, str], interval: float = 1.0) -> None:
        self.stats = [ProcStats(pid, name) for pid, name in pids.items()]
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = self.t1 = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            for s in self.stats:
                s.sample()
            self._stop.wait(self.interval)

    def start(self) -> Sampler:
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for s in self.stats:
            s.sample()
        self.t1 = time.monotonic()

    def report(self) -> list[dict]:
        wall = max(self.t1 - self.t0, 1e-9)
        rows = []
        for s in self.stats:
            used = (s.cpu1 or 0.0) - (s.cpu0 or 0.0)
            rows.append({
                "pid": s.pid, "name": s.name, "cpu_s": round(used, 1),
                "avg_cpu_pct": round(100 * used / wall), "peak_cpu_pct": round(s.peak_cpu_pct),
                "peak_rss_mb": round(s.peak_rss_kb / 1024), "vm_hwm_mb": round(s.hwm_kb / 1024),
            })  # fmt: skip
        return rows
