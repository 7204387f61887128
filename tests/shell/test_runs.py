"""The finished-runs store: bounded, least recently used dropped first, shared by name."""

from __future__ import annotations

import threading

from optlab.shell.runs import FinishedRuns, finished_runs


def test_the_least_recently_used_run_is_dropped_first():
    runs = FinishedRuns(max_entries=2)
    runs.put("a", 1)
    runs.put("b", 2)
    assert runs.get("a") == 1  # "a" is now the most recent
    runs.put("c", 3)
    assert "b" not in runs
    assert (runs.get("a"), runs.get("c"), len(runs)) == (1, 3, 2)
    assert runs.get("missing") is None


def test_one_store_per_name():
    a, b = finished_runs("test.a", 4), finished_runs("test.b", 4)
    assert a is finished_runs("test.a", 4)
    a.put("k", 1)
    assert "k" not in b
    a.clear()
    assert len(a) == 0


def test_concurrent_puts_keep_the_bound():
    runs = FinishedRuns(max_entries=5)

    def work(i):
        for j in range(200):
            runs.put((i, j), j)
            runs.get((i, j - 1))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 5
