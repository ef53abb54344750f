"""The pure delivery bookkeeping: in-order acceptance, the send window with cumulative acks, backoff."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meldkamer_bridge.outbox import AckError, SendWindow, Verdict, backoff_delay, classify


@pytest.mark.parametrize(
    ("seq", "last", "verdict"),
    [
        (1, 0, Verdict.NEW),
        (5, 4, Verdict.NEW),
        (4, 4, Verdict.DUPLICATE),
        (1, 4, Verdict.DUPLICATE),
        (6, 4, Verdict.GAP),
    ],
)
def test_classify(seq: int, last: int, verdict: Verdict) -> None:
    assert classify(seq, last) is verdict


def test_window_limits_what_is_in_flight_and_acks_free_room() -> None:
    w = SendWindow(10, limit=3)
    assert list(w.next_range(100)) == [11, 12, 13]
    for seq in (11, 12, 13):
        w.mark_sent(seq)
    assert list(w.next_range(100)) == []
    assert w.ack(12) == 2 and list(w.next_range(100)) == [14, 15]
    assert w.ack(11) == 0  # an older cumulative ack changes nothing
    with pytest.raises(AckError):
        w.ack(14)  # never sent
    with pytest.raises(ValueError):
        w.mark_sent(15)  # 14 first


def test_a_new_connection_resends_from_what_the_peer_has() -> None:
    w = SendWindow(0, limit=100)
    for seq in range(1, 8):
        w.mark_sent(seq)
    w.ack(3)
    w.restart(5)  # the peer stored up to 5 but our connection dropped before its ack arrived
    assert list(w.next_range(8)) == [6, 7, 8]
    w.restart(2)  # a peer that lost its state gets everything again from where it is
    assert list(w.next_range(4)) == [3, 4]


@given(
    st.lists(
        st.tuples(st.sampled_from(["send", "deliver", "drop", "reconnect"]), st.integers(1, 5)), max_size=80
    ),
    st.integers(1, 40),
)
def test_lossy_link_delivers_everything_exactly_once_in_order(ops: list[tuple[str, int]], total: int) -> None:
    """A model of the link: the sender's window and the receiver's classify, with a network that delivers,
    loses the connection (dropping whatever is in flight) and reconnects. Whatever happens, the receiver's log
    is 1..k without holes or doubles, and after a final quiet run everything arrives."""
    sender = SendWindow(0, limit=4)
    received: list[int] = []
    in_flight: list[int] = []

    def deliver(n: int) -> None:
        for _ in range(min(n, len(in_flight))):
            seq = in_flight.pop(0)
            if classify(seq, len(received)) is Verdict.NEW:
                received.append(seq)
            sender.ack(len(received))  # cumulative ack of what is durable

    def send(n: int) -> None:
        for seq in list(sender.next_range(total))[:n]:
            sender.mark_sent(seq)
            in_flight.append(seq)

    for op, n in ops:
        if op == "send":
            send(n)
        elif op == "deliver":
            deliver(n)
        elif op == "drop":
            in_flight.clear()
        else:
            in_flight.clear()
            sender.restart(len(received))
    in_flight.clear()
    sender.restart(len(received))
    while sender.acked < total:
        send(4)
        deliver(4)
    assert received == list(range(1, total + 1))


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(a, base=0.2, cap=5.0, jitter=0.0, rng=rng) for a in range(1, 9)]
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    jittered = [backoff_delay(3, base=0.2, cap=5.0, jitter=0.2, rng=rng) for _ in range(100)]
    assert all(0.64 <= d <= 0.96 for d in jittered) and len(set(jittered)) > 50
