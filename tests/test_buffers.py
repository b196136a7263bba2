"""LatestSlot: the one-slot, latest-frame-wins hand-off between the engine's threads."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.buffers import Closed, LatestSlot

# A wait that should return at once may still take a scheduler tick on a busy 2-core machine.
PROMPT_S = 0.5
# Items a 500 Hz producer may put while the consumer thread is preempted (~50 ms).
MAX_PREEMPT_ITEMS = 25


def test_latest_wins_and_replaced_items_count_as_drops() -> None:
    slot: LatestSlot[int] = LatestSlot("t")
    assert slot.put(1) is False  # nothing replaced
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.get(timeout=0) == 3
    assert slot.dropped == 2
    assert slot.put_count == 3
    assert slot.taken == 1
    # Taken means gone: the consumer never sees the same item twice.
    assert slot.get(timeout=0) is None


def test_get_times_out_with_none() -> None:
    slot: LatestSlot[int] = LatestSlot()
    t0 = time.monotonic()
    assert slot.get(timeout=0.05) is None
    elapsed = time.monotonic() - t0
    assert 0.04 <= elapsed < PROMPT_S


def test_get_wakes_as_soon_as_an_item_is_put() -> None:
    slot: LatestSlot[str] = LatestSlot()
    got: list[tuple[str | None, float]] = []

    def consumer() -> None:
        t0 = time.monotonic()
        item = slot.get(timeout=5)
        got.append((item, time.monotonic() - t0))

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.05)
    slot.put("x")
    t.join(5)
    assert got and got[0][0] == "x"
    assert got[0][1] < 0.05 + PROMPT_S


def test_close_lets_the_consumer_drain_then_raises_closed() -> None:
    slot: LatestSlot[int] = LatestSlot("drain")
    slot.put(7)
    slot.close()
    slot.close()  # idempotent
    assert slot.closed
    assert slot.get(timeout=0) == 7  # what was there is still delivered
    with pytest.raises(Closed):
        slot.get(timeout=0)
    with pytest.raises(Closed):
        slot.get()  # no timeout: must not hang on a closed slot
    # A put after close is discarded, not counted, not a drop.
    assert slot.put(8) is False
    assert slot.put_count == 1
    assert slot.dropped == 0
    with pytest.raises(Closed):
        slot.get(timeout=0)


def test_close_wakes_a_waiting_consumer() -> None:
    slot: LatestSlot[int] = LatestSlot()
    outcome: list[object] = []

    def consumer() -> None:
        try:
            outcome.append(slot.get(timeout=10))
        except Closed:
            outcome.append("closed")

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    slot.close()
    t.join(5)
    assert outcome == ["closed"]
    assert time.monotonic() - t0 < PROMPT_S


def test_wait_empty_is_a_handshake() -> None:
    slot: LatestSlot[int] = LatestSlot()
    assert slot.wait_empty(0) is True
    slot.put(1)
    assert slot.wait_empty(0.02) is False
    threading.Timer(0.05, lambda: slot.get(timeout=0)).start()
    assert slot.wait_empty(5) is True
    slot.put(2)
    slot.close()
    assert slot.wait_empty(0) is True  # closed: nobody will take it, don't wait


def test_fast_producer_slow_consumer_gets_fresh_items_and_no_backlog() -> None:
    """A producer at ~500 Hz and a consumer taking 20 ms per item: the consumer always gets
    one of the newest items (never a stale queue), and every item is either taken or dropped."""
    slot: LatestSlot[int] = LatestSlot()
    stop = threading.Event()
    produced = [0]
    staleness: list[int] = []

    def producer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            slot.put(i)
            produced[0] = i
            time.sleep(0.002)
        slot.close()

    def consumer() -> None:
        while True:
            try:
                item = slot.get(timeout=1)
            except Closed:
                return
            if item is None:
                continue
            staleness.append(produced[0] - item)
            time.sleep(0.02)

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(5)
    assert len(staleness) >= 5
    # The item taken was the newest, or a few behind when this thread was preempted between
    # the get and reading the counter (a queue would fall ~9 more behind at every item).
    staleness.sort()
    assert staleness[len(staleness) // 2] <= 2
    assert staleness[-1] <= MAX_PREEMPT_ITEMS
    assert slot.taken + slot.dropped + (1 if slot.has_item else 0) == slot.put_count
    assert slot.dropped > slot.taken  # the consumer is ~10x slower: most items are dropped
