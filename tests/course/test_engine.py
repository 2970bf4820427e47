"""The papermill client that survives a lost zmq wake-up (facecourse/course/engine.py)."""
from __future__ import annotations

import asyncio
import time

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

from facecourse.course import engine


class LostWakeupSocket(zmq.asyncio.Socket):
    """A real socket whose unbounded poll never wakes up, as nbclient's did in CI."""

    def poll(self, timeout=None, flags=zmq.POLLIN):
        if timeout is None:
            return asyncio.get_running_loop().create_future()  # never resolved
        return super().poll(timeout, flags)


async def _receive(channel_class, wait: float):
    ctx = zmq.asyncio.Context()
    session = Session(key=b"k")
    sender = ctx.socket(zmq.PAIR)
    receiver = LostWakeupSocket(ctx, zmq.PAIR)
    try:
        sender.bind("inproc://reply")
        receiver.connect("inproc://reply")
        session.send(sender, "execute_reply", {"status": "ok"})
        channel = channel_class(receiver, session)
        start = time.perf_counter()
        try:
            msg = await asyncio.wait_for(channel.get_msg(timeout=None), wait)
        except asyncio.TimeoutError:
            return None, time.perf_counter() - start
        return msg, time.perf_counter() - start
    finally:
        sender.close(0)
        receiver.close(0)
        ctx.term()


def test_sliced_poll_finds_a_reply_whose_wakeup_was_lost():
    msg, seconds = asyncio.run(_receive(engine.SlicedPollChannel, wait=5))
    assert msg is not None and msg["msg_type"] == "execute_reply"
    assert msg["content"] == {"status": "ok"}
    assert seconds < engine.POLL_SECONDS + 1


def test_the_stock_channel_hangs_on_the_same_socket():
    """What the fix is for: jupyter_client's channel waits forever on the same message."""
    msg, seconds = asyncio.run(_receive(AsyncZMQSocketChannel, wait=2))
    assert msg is None and seconds >= 2


def test_a_bounded_wait_still_raises_empty():
    from queue import Empty

    async def empty():
        ctx = zmq.asyncio.Context()
        sock = LostWakeupSocket(ctx, zmq.PAIR)
        try:
            sock.connect("inproc://nobody")
            await engine.SlicedPollChannel(sock, Session(key=b"k")).get_msg(timeout=0.2)
        finally:
            sock.close(0)
            ctx.term()

    with pytest.raises(Empty):
        asyncio.run(empty())


def test_papermill_knows_the_engine_and_the_manager_builds_the_patient_client():
    from papermill.engines import papermill_engines

    assert papermill_engines.get_engine("facecourse") is engine.PatientEngine
    km = engine.PatientKernelManager(kernel_name="python3")
    assert km.client_factory is engine.PatientKernelClient
    assert engine.PatientKernelClient.shell_channel_class.default_value is \
        engine.SlicedPollChannel
