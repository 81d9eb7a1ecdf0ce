"""``parallel`` (``system/parallel.py``): results in order, errors after every item has ended."""

from __future__ import annotations

import threading
import time

import pytest

from envsync.system.parallel import parallel


def test_results_come_in_the_order_of_the_items_not_of_their_ending() -> None:
    def slower_first(n: int) -> int:
        time.sleep(0.01 * (5 - n))
        return n * n

    assert parallel(slower_first, range(5)) == [0, 1, 4, 9, 16]


@pytest.mark.parametrize(("items", "workers"), [([7], 8), ([1, 2, 3], 1), ([], 8)])
def test_one_item_or_one_worker_runs_in_the_calling_thread(items: list[int], workers: int) -> None:
    ran_in: list[threading.Thread] = []

    def note(n: int) -> int:
        ran_in.append(threading.current_thread())
        return n

    assert parallel(note, items, workers=workers) == items
    assert ran_in == [threading.current_thread()] * len(items)


def test_the_first_error_is_raised_once_every_item_has_ended() -> None:
    ended: list[int] = []

    def fail_first(n: int) -> int:
        if n == 0:
            raise ValueError("item 0 failed")
        time.sleep(0.05)
        ended.append(n)
        return n

    with pytest.raises(ValueError, match="item 0 failed"):
        parallel(fail_first, range(4), workers=4)

    assert sorted(ended) == [1, 2, 3]


def test_as_many_threads_run_at_once_as_the_workers_allowed_and_no_more() -> None:
    lock = threading.Lock()
    running = [0]
    most = [0]
    together = threading.Barrier(3, timeout=10)  # broken unless three run at once

    def track(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        together.wait()
        with lock:
            running[0] -= 1
        return n

    assert parallel(track, range(12), workers=3) == list(range(12))
    assert most[0] == 3
