"""Run a notebook entrypoint (`main.ipynb`) as a task run: `bootstrap.py` calls `run` for a
`.ipynb` entrypoint, in the run's interpreter and working folder.

- The run's JSON arguments are injected papermill-style: a new code cell tagged
  `injected-parameters` right after the cell tagged `parameters` (first in the notebook when
  none is), assigning each argument whose name is a Python identifier.
- nbclient executes it with the `python3` kernel of the run's own interpreter (jupyter_client
  starts it with `sys.executable`), over IPC sockets in the working folder: whatever kernel the
  notebook names, it runs in the orchestration's environment, which has ipykernel through the
  server's layered site-packages.
- Every output goes to the run's stdout (stderr: errors and stderr streams) the moment the
  kernel sends it, flushed, so it is in the run log while the notebook still runs.
- The executed notebook is written to `outputs/<name>.ipynb` after each cell (replaced whole),
  so it is kept as an artifact of the run even when the run fails, is killed or times out.

A cell that raises ends the run with exit code 1 and a last stderr line naming the cell and
the error (the run's `error`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode
from traitlets.config import Config

from ..constants import OUTPUTS_DIR, TASK_ARGS_FILE_ENV

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
KERNEL_NAME = "python3"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class StreamingClient(NotebookClient):
    """nbclient's client, printing each output as it arrives."""

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None:
            _print_output(out)
        return out


def run(entrypoint: str) -> int:
    """Execute the notebook in the current folder; the run's exit code."""
    notebook = nbformat.read(entrypoint, as_version=4)
    inject_parameters(notebook, _task_args())
    executed = Path(OUTPUTS_DIR) / Path(entrypoint).name
    executed.parent.mkdir(exist_ok=True)

    def save(**_: Any) -> None:
        partial = executed.with_name(f".{executed.name}.partial")
        nbformat.write(notebook, partial)
        os.replace(partial, executed)

    # IPC sockets and the connection file in a private temporary folder: no TCP port another
    # user of the machine could connect to, nothing written where a sandbox hides (the runtime
    # dir), and a short path (a socket's path is at most ~107 bytes; the working folder's may be longer).
    with tempfile.TemporaryDirectory(prefix="orch-kernel-") as sockets:
        connection = os.path.join(sockets, "kernel.json")
        kernel = Config({"KernelManager": {"transport": "ipc", "connection_file": connection}})
        client = StreamingClient(notebook, config=kernel, kernel_name=KERNEL_NAME,
                                 resources={"metadata": {"path": os.getcwd()}}, on_cell_executed=save)
        failure = _execute(client)
    if failure is not None:
        save()
        cell = next((i for i, c in enumerate(notebook.cells) if _has_error(c)), None)
        where = f"cell {cell + 1}" if cell is not None else "a cell"
        print(f"the notebook failed in {where}: {failure.ename}: {failure.evalue}", file=sys.stderr, flush=True)
        return 1
    save()
    return 0


def _execute(client: NotebookClient) -> CellExecutionError | None:
    """Run every cell; the error of the cell that failed, if one did."""
    try:
        client.execute()
    except CellExecutionError as error:
        return error
    return None


def inject_parameters(notebook: NotebookNode, args: dict[str, Any]) -> None:
    """Add the cell that assigns `args` after the `parameters` cell (a previous injection is
    replaced, as papermill does)."""
    cells = [c for c in notebook.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    lines = [f"{name} = {value!r}" for name, value in args.items() if name.isidentifier()]
    if not lines:
        notebook.cells = cells
        return
    injected = nbformat.v4.new_code_cell("# Parameters\n" + "\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    tagged = [i for i, c in enumerate(cells) if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    at = tagged[0] + 1 if tagged else 0
    notebook.cells = [*cells[:at], injected, *cells[at:]]


def _task_args() -> dict[str, Any]:
    path = os.environ.get(TASK_ARGS_FILE_ENV)
    if not path:
        return {}
    args = json.loads(Path(path).read_text())
    return args if isinstance(args, dict) else {}


def _print_output(out: NotebookNode) -> None:
    if out.output_type == "stream":
        print(out.text, end="", file=sys.stderr if out.name == "stderr" else sys.stdout, flush=True)
    elif out.output_type == "error":
        print(ANSI.sub("", "\n".join(out.traceback)), file=sys.stderr, flush=True)
    elif "text/plain" in out.get("data", {}):
        print(out.data["text/plain"], flush=True)


def _has_error(cell: NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))
