"""Sequence numbers per device: a resend is taken once, also across reconnects, and a waiter for a frame
(a tracker's HTTP answer) wakes when the batch holding it is durable."""

from __future__ import annotations

import asyncio

import pytest

from backend.live.sequences import DeviceSequences, FrameRefused
from shared.protocol import MAX_SEQ_JUMP


def test_a_frame_is_taken_once_and_a_reconnect_keeps_what_was_taken() -> None:
    seqs = DeviceSequences()
    seqs.connected(1, 4)
    assert not seqs.take(1, 4)  # durable already
    assert seqs.take(1, 5)
    assert not seqs.take(1, 5)
    seqs.connected(1, 4)  # reconnected before seq 5 was durable: it is still queued, not taken twice
    assert not seqs.take(1, 5)
    assert seqs.take(1, 6)


def test_the_durable_seq_only_grows() -> None:
    seqs = DeviceSequences()
    seqs.made_durable({1: 7})
    seqs.made_durable({1: 3})
    seqs.connected(1, 5)
    assert seqs.durable(1) == 7 and seqs.durable(2) == 0


def test_a_tracker_is_numbered_on_from_the_last_taken_seq() -> None:
    seqs = DeviceSequences()
    assert seqs.next_seq(3, 10) == 11
    assert seqs.take(3, 11)
    assert seqs.next_seq(3, 10) == 12  # the database's 10 is older than what the server took


async def test_a_waiter_wakes_when_its_frame_is_durable_and_not_before() -> None:
    seqs = DeviceSequences()
    waiting = asyncio.create_task(seqs.wait_durable(1, 5, timeout_s=1.0))
    await asyncio.sleep(0)
    seqs.made_durable({1: 4, 2: 9})
    await asyncio.sleep(0)
    assert not waiting.done()
    seqs.made_durable({1: 6})
    await asyncio.wait_for(waiting, 1.0)


async def test_a_waiter_gives_up_after_its_timeout() -> None:
    with pytest.raises(TimeoutError):
        await DeviceSequences().wait_durable(1, 5, timeout_s=0.01)


def test_a_seq_far_above_what_the_device_sent_is_implausible() -> None:
    seqs = DeviceSequences()
    seqs.connected(1, 10)
    assert seqs.plausible(1, 10 + MAX_SEQ_JUMP)
    assert not seqs.plausible(1, 11 + MAX_SEQ_JUMP)
    assert not seqs.plausible(1, 2**62)  # one frame would make every later one a "resend" for ever
    assert seqs.plausible(2, 1)  # a device never heard of starts at 1


async def test_a_waiter_for_a_refused_frame_hears_why() -> None:
    seqs = DeviceSequences()
    waiting = asyncio.create_task(seqs.wait_durable(3, 5, timeout_s=5))
    other = asyncio.create_task(seqs.wait_durable(3, 6, timeout_s=5))
    await asyncio.sleep(0)
    seqs.refused(3, 5, "could not store it")
    with pytest.raises(FrameRefused, match="could not store it"):
        await waiting
    seqs.made_durable({3: 6})
    await other  # the next frame is durable as usual
