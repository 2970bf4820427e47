"""A papermill engine whose kernel client does not lose the reply to a widget cell.

nbclient waits for a cell's `execute_reply` with `shell_channel.get_msg(timeout=None)`, an
asyncio zmq poll with no deadline. When a cell opens widgets (comm messages on IOPub) on a
loaded machine, that poll can miss the wake-up for a reply that has already arrived, and the
run waits forever with the kernel idle (jupyter/nbclient#312, nteract/papermill#723). We saw
it in CI: lesson 10's slider cell never returned and the run hit its 90-minute limit. With
a deadline the same poll finds the waiting reply, so this client polls in short slices.

`facecourse.course.run_notebook` (`make course`, the tests) uses it; from the command line:

    papermill --engine facecourse solutions/10_masked_faces.ipynb out.ipynb -p PROFILE gpu
"""
from __future__ import annotations

from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

POLL_SECONDS = 0.5  # the longest a missed wake-up can delay a cell


class SlicedPollChannel(AsyncZMQSocketChannel):
    """`get_msg(timeout=None)` waits in slices of POLL_SECONDS instead of one unbounded poll."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        if timeout is not None:
            return await super().get_msg(timeout)
        while True:
            try:
                return await super().get_msg(POLL_SECONDS)
            except Empty:
                continue


class PatientKernelClient(AsyncKernelClient):
    shell_channel_class = Type(SlicedPollChannel)
    iopub_channel_class = Type(SlicedPollChannel)


class PatientKernelManager(AsyncKernelManager):
    client_class = DottedObjectName("facecourse.course.engine.PatientKernelClient")
    client_factory = Type(PatientKernelClient, klass=AsyncKernelClient)  # not derived from the above


class _LikeNBClientEngine(type):
    """Whatever the engine does not define comes from papermill's own engine.

    papermill imports its engines' entry points while `papermill.engines` itself loads, so this
    module cannot import papermill at the top (the entry point would find it half-initialised).
    """

    def __getattr__(cls, name):
        from papermill.engines import NBClientEngine
        return getattr(NBClientEngine, name)


class PatientEngine(metaclass=_LikeNBClientEngine):
    """papermill's default engine with the client above (registered as `--engine facecourse`)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, **kwargs):
        from papermill.engines import NBClientEngine
        kwargs.setdefault("kernel_manager_class", PatientKernelManager)
        return NBClientEngine.execute_notebook(nb, kernel_name, **kwargs)
