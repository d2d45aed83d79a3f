"""Drive a real IPython kernel over its channels and keep every iopub message it sends.

Widget updates come from the kernel's background threads with any parent header, so they are
read from one shared log (`messages`) by comm id rather than per execution.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel

Message = dict[str, Any]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass
class Execution:
    reply: Message
    outputs: list[Message] = field(default_factory=list)

    def __repr__(self) -> str:
        """What a person would see under the cell: for assertion messages."""
        shown = [self.stdout, self.stderr, *("\n".join(m["content"]["traceback"]) for m in self.errors)]
        return f"<{self.reply['status']}: " + " | ".join(t for t in shown if t) + ">"

    def text(self, stream: str) -> str:
        return "".join(m["content"]["text"] for m in self.outputs
                       if m["msg_type"] == "stream" and m["content"]["name"] == stream)

    @property
    def stdout(self) -> str:
        return self.text("stdout")

    @property
    def stderr(self) -> str:
        return self.text("stderr")

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.outputs if m["msg_type"] == "error"]

    @property
    def result(self) -> dict[str, Any]:
        """The execute_result's data (mime type -> content), or {}."""
        results = [m for m in self.outputs if m["msg_type"] == "execute_result"]
        return results[-1]["content"]["data"] if results else {}

    def usage_error(self) -> str:
        """The one line a UsageError shows; fails when the cell did anything else."""
        assert self.reply["status"] == "error" and self.reply.get("ename") == "UsageError", self
        assert not self.errors, f"a traceback was shown: {self}"
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("UsageError: "), self
        return lines[0]

    @property
    def widget_id(self) -> str:
        return self.result[WIDGET_VIEW]["model_id"]


class Kernel:
    def __init__(self, env: dict[str, str], cwd: Path):
        self.cwd = cwd
        self.km, self.kc = start_new_kernel(kernel_name="python3", env={**os.environ, **env}, cwd=str(cwd))
        self.messages: list[Message] = []

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def _read(self, timeout: float) -> Message | None:
        try:
            message = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return None
        self.messages.append(message)
        return message

    def execute(self, code: str, timeout: float = 60) -> Execution:
        start = len(self.messages)
        msg_id = self.kc.execute(code)
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        self.wait_for(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                      and m["content"]["execution_state"] == "idle", timeout, start=start)
        return Execution(reply["content"],
                         [m for m in self.messages[start:] if m["parent_header"].get("msg_id") == msg_id])

    def wait_for(self, done: Callable[[Message], bool], timeout: float, start: int | None = None) -> Message:
        """Return the first message (already read from `start`, else new) for which `done` holds."""
        for message in self.messages[start if start is not None else len(self.messages):]:
            if done(message):
                return message
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self._read(left)
            if message is not None and done(message):
                return message
        raise TimeoutError("the kernel did not send the awaited message in time")

    def states(self, comm_id: str) -> list[dict[str, Any]]:
        """The widget's state at comm_open, then each update's changes, in order."""
        return [m["content"]["data"]["state"] for m in self.messages if _state_of(m, comm_id)]

    def wait_for_state(self, comm_id: str, key: str, value: Any, timeout: float = 30) -> None:
        self.wait_for_change(comm_id, key, lambda v: v == value, timeout)

    def wait_for_change(self, comm_id: str, key: str, check: Callable[[Any], bool], timeout: float = 30) -> None:
        """Wait until the widget's `key` is sent with a value for which `check` holds."""
        def sent(m: Message) -> bool:
            state = m["content"]["data"]["state"] if _state_of(m, comm_id) else {}
            return key in state and check(state[key])

        self.wait_for(sent, timeout, start=0)

    def values(self, comm_id: str, key: str) -> list[Any]:
        return [s[key] for s in self.states(comm_id) if key in s]

    def children(self, comm_id: str) -> list[str]:
        """The model ids of a box widget's children (`IPY_MODEL_<id>` references)."""
        return [c.removeprefix("IPY_MODEL_") for c in self.values(comm_id, "children")[-1]]

    def click(self, button_id: str) -> None:
        """What a frontend sends when a person clicks a Button widget."""
        content = {"comm_id": button_id, "data": {"method": "custom", "content": {"event": "click"}}}
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", content))


def _state_of(message: Message, comm_id: str) -> bool:
    """Whether `message` carries widget state for `comm_id` (its comm_open or an update)."""
    content = message["content"]
    if content.get("comm_id") != comm_id:
        return False
    return message["msg_type"] == "comm_open" or (
        message["msg_type"] == "comm_msg" and content["data"].get("method") == "update")
