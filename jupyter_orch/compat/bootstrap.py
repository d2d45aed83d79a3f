"""Start a task run: `python -u bootstrap.py <entrypoint>`, with cwd the zip root.

Installs the `wallaroo` alias, then runs the entrypoint as `__main__` the way
`python <entrypoint>` would (its own directory first on sys.path), and an uncaught exception
prints the traceback `python <entrypoint>` would print: the user's frames only, not this
launcher's or runpy's. A notebook entrypoint (`.ipynb`) runs through nbclient instead
(notebook_run.py). It imports nothing heavy: a run's start latency is decided by what its
launcher imports.
"""

import atexit
import gc
import io
import os
import runpy
import sys
from types import TracebackType


def main() -> None:
    entrypoint = sys.argv[1]
    # Run as a script, sys.path[0] is this file's folder; the entrypoint's own folder replaces it.
    sys.path[0] = os.path.dirname(os.path.abspath(entrypoint))
    from jupyter_orch.compat import install_wallaroo_alias

    install_wallaroo_alias()
    atexit.register(_flush_open_files)  # the first registered, so the last to run
    sys.argv = [entrypoint]
    if entrypoint.endswith(".ipynb"):
        from jupyter_orch.compat.notebook_run import run

        sys.exit(run(entrypoint))
    try:
        runpy.run_path(entrypoint, run_name="__main__")
    except Exception as error:
        error = error.with_traceback(_from_user_code(error.__traceback__, entrypoint))
        sys.excepthook(type(error), error, error.__traceback__)
        sys.exit(1)


def _flush_open_files() -> None:
    """Flush the files the run left open, as `python <entrypoint>` does when it tears down
    `__main__`. Here the entrypoint runs in runpy's temporary module, whose namespace a
    reference cycle (a function and its globals) keeps alive past the teardown, and a forked
    run ends without one (zygote.py). In a fork, the zygote's own objects are frozen, out of this sight."""
    for obj in gc.get_objects():
        if isinstance(obj, io.IOBase):
            try:
                if not obj.closed:
                    obj.flush()
            except Exception:  # a broken file: the interpreter's teardown ignores it too
                continue


def _from_user_code(tb: TracebackType | None, entrypoint: str) -> TracebackType | None:
    """The traceback from the entrypoint's first frame on; None when the error came before it
    ran (a SyntaxError names its file and line itself)."""
    while tb is not None and tb.tb_frame.f_code.co_filename != entrypoint:
        tb = tb.tb_next
    return tb


if __name__ == "__main__":
    main()
