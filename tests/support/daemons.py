"""A run that leaves daemons behind, for the tests that check nothing of a run outlives it."""

from __future__ import annotations

from pathlib import Path

# Main process and two daemons: one double-forked into its own session that ignores SIGTERM,
# one that also cleared its environment (so no marker finds it: only the subreaper does).
DAEMONS = """
import json, os, signal, sys, time
args = json.load(open(os.environ["JUPYTER_ORCH_TASK_ARGS_FILE"]))
signal.signal(signal.SIGTERM, signal.SIG_IGN)
STAY = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"

def daemon(environ):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            with open(args["pids"], "a") as f:
                f.write(f"{os.getpid()}\\n")
            os.execve(sys.executable, [sys.executable, "-c", STAY], environ)
        os._exit(0)
    os.wait()

daemon(dict(os.environ))
daemon({})
# The daemons write their pids on their own: wait for both, so the run's own comes last and its
# end (which ends them) never comes before they wrote.
while not os.path.exists(args["pids"]) or len(open(args["pids"]).read().split()) < 2:
    time.sleep(0.005)
with open(args["pids"], "a") as f:
    f.write(f"{os.getpid()}\\n")
print("daemons started", flush=True)
time.sleep(args["sleep"])
"""


def pids(path: Path, count: int) -> list[int] | None:
    found = [int(p) for p in path.read_text().split()] if path.exists() else []
    return found if len(found) == count else None
