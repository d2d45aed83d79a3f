"""Warm starts: runs forked from a zygote look like cold runs; zygotes restart and skip what
they cannot preload. (The cold-run task tests run warm too: test_tasks_engine.py.)"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_orch.engine import Engine
from jupyter_orch.engine.executors.processes import find, run_marker
from jupyter_orch.engine.executors.warm import WarmPool
from jupyter_orch.engine.tasks.records import ONESHOT, TASK_TERMINAL
from tests.engine.test_tasks_engine import eventually, log_texts, orchestration, run_once, texts
from tests.support.engine import running_engine
from tests.support.processes import alive

SQLITE_ONLY = True  # nothing here is about the database

# What a run can see of how it was started, printed as one JSON line. A fork's environ and
# cmdline areas are the zygote's size, zero-padded: read as NUL-separated lists, they are equal.
PROBE = """\
import json, os, signal, sys
preloaded = 'pandas' in sys.modules
def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
def area(name):
    return sorted(e.decode() for e in open(f'/proc/self/{name}', 'rb').read().split(b'\\0') if e)
import random, threading
threads = [threading.active_count(), len(os.listdir('/proc/self/task'))]
import numpy
numpy.ones((500, 500)) @ numpy.ones((500, 500))
facts = {
    # A session and process group of the run's own (a cold run's leader is its launcher).
    'session': [os.getpgid(0) == os.getsid(0), os.getsid(0) != SERVER_SID],
    'cwd': os.getcwd(),
    'open_fds': [fd for fd in range(1024) if is_open(fd)],
    'stdin': os.readlink('/proc/self/fd/0'),
    'threads': threads,
    'blas_threads': len(os.listdir('/proc/self/task')),
    'argv': sys.argv, 'orig_argv': sys.orig_argv, 'cmdline': area('cmdline'),
    'environ': area('environ') == sorted(f'{k}={v}' for k, v in os.environ.items()),
    'env_names': sorted(os.environ),
    'signals': {str(s): repr(signal.getsignal(s)) for s in signal.valid_signals()},
    'mask': sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    'main': [__name__, __file__, sys.modules['__main__'].__file__],
    'path0': sys.path[0] == os.getcwd(),
    'stdout': [sys.stdout.write_through, sys.stdout.encoding, list(sys.flags)],
}
varying = {'preloaded': preloaded, 'random': [random.random(), float(numpy.random.rand())],
           'parent': open(f'/proc/{os.getppid()}/cmdline', 'rb').read().decode()}
print(json.dumps({'facts': facts, 'varying': varying}))
"""


async def probe(engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    task = await run_once(engine, PROBE.replace("SERVER_SID", str(os.getsid(0))))
    assert task.status == "success"
    (line,) = texts(await engine.tasks.run_logs(task.last_runs[0].run_id))
    seen = json.loads(line)
    seen["facts"]["cwd"] = seen["facts"]["cwd"].replace(task.last_runs[0].run_id, "<run>")
    return seen["facts"], seen["varying"]


async def test_a_forked_run_looks_like_a_cold_one(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "cold") as engine:
        cold, cold_varying = await probe(engine)
    async with running_engine(tmp_path / "warm", warm_start=True) as engine:
        warm, warm_varying = await probe(engine)
        _, again = await probe(engine)
    assert warm_varying["preloaded"] and "zygote.py" in warm_varying["parent"]  # it was forked
    assert not cold_varying["preloaded"] and "zygote.py" not in cold_varying["parent"]
    warm["cwd"] = warm["cwd"].replace(str(tmp_path / "warm"), str(tmp_path / "cold"))
    assert warm == cold
    assert cold["session"] == [True, True] and cold["open_fds"] == [0, 1, 2] and cold["stdin"] == "/dev/null"
    assert cold["threads"] == [1, 1] and cold["environ"] and cold["argv"] == ["main.py"]
    assert cold["main"] == ["__main__", "main.py", "main.py"] and cold["path0"]
    assert "RUN_ID" in cold["env_names"] and "JUPYTER_ORCH_PRELOAD" not in cold["env_names"]
    assert warm_varying["random"][0] != again["random"][0]  # fresh seeds in each fork
    assert warm_varying["random"][1] != again["random"][1]


# How a run ends: threads joined, atexit handlers run, a file left open flushed, an exit code.
ENDING = """\
import atexit, sys, threading, time
kept = open(KEPT, 'w')
kept.write('written, never closed')
def late():
    time.sleep(0.2)
    print('thread joined', flush=True)
threading.Thread(target=late).start()
atexit.register(lambda: print('atexit ran', flush=True))
print('ending', end='')
sys.exit(EXIT)
"""


async def ending(engine: Engine, exit_with: str, kept: Path) -> tuple[Any, list[str], str]:
    task = await run_once(engine, ENDING.replace("EXIT", exit_with).replace("KEPT", repr(str(kept))))
    (run,) = await engine.tasks.runs(task.id)
    return run.exit_code, texts(await engine.tasks.run_logs(run.run_id)), kept.read_text()


@pytest.mark.parametrize("exit_with", ["3", "'a message'", "None"])
async def test_a_forked_run_ends_as_a_cold_one(tmp_path: Path, exit_with: str) -> None:
    """A forked run skips the interpreter's teardown of what the zygote preloaded (it copies
    every page that holds pandas), but not what a user sees of an ending."""
    async with running_engine(tmp_path / "cold") as engine:
        cold = await ending(engine, exit_with, tmp_path / "cold.kept")
    async with running_engine(tmp_path / "warm", warm_start=True) as engine:
        warm = await ending(engine, exit_with, tmp_path / "warm.kept")
    assert warm == cold
    code, lines, kept = cold
    assert code == {"3": 3, "'a message'": 1, "None": 0}[exit_with]
    assert lines[-2:] == ["endingthread joined", "atexit ran"]
    assert kept == "written, never closed"


async def test_warm_interpreters_skip_what_they_cannot_preload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running_engine(tmp_path / "data", warm_start=True, preload_modules=("no_such_module", "json")) as engine:
        task = await run_once(engine, "import sys\nprint('json' in sys.modules, 'pandas' in sys.modules)\n")
        assert texts(await engine.tasks.run_logs(task.last_runs[0].run_id)) == ["True False"]
    assert "'no_such_module' not preloaded (ModuleNotFoundError" in caplog.text


async def test_a_zygote_that_dies_is_restarted_and_its_runs_still_end(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data", warm_start=True, preload_modules=("json",)) as engine:
        code = "import os, time\nprint(os.getppid(), flush=True)\ntime.sleep(2)\n"
        orch = await orchestration(engine, {"main.py": code})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        run_id = (await engine.tasks.get(task.id)).last_runs[0].run_id
        await eventually(lambda: log_texts(engine, run_id))
        zygote = int((await log_texts(engine, run_id))[0])
        os.kill(zygote, signal.SIGKILL)
        # The run goes on without its zygote; its end is seen, its exit code is not.
        task = await engine.tasks.wait_for(task.id, TASK_TERMINAL, 30)
        (run,) = await engine.tasks.runs(task.id)
        assert run.status == "failure" and run.exit_code == -1
        assert engine.warm is not None
        await asyncio.wait_for(engine.warm.wait_ready(), 30)
        again = await run_once(engine, "import os\nprint(os.getppid())\n")
        parent = int(texts(await engine.tasks.run_logs(again.last_runs[0].run_id))[0])
        assert parent != zygote and Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")[2].endswith(b"zygote.py")


async def test_a_forked_run_is_found_by_its_run_id_as_an_orphan(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data", warm_start=True, preload_modules=("json",)) as engine:
        code = "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(60)\n"
        orch = await orchestration(engine, {"main.py": code})
        task = await engine.tasks.create(ONESHOT, orch.workspace_id, orch.id, {})
        (run,) = await engine.tasks.runs(task.id)
        await eventually(lambda: log_texts(engine, run.run_id))
        pid = int((await log_texts(engine, run.run_id))[0])
        assert pid in await asyncio.to_thread(find, run_marker(run.run_id))  # its marker is in its environ
        assert pid not in await asyncio.to_thread(find, run_marker("another-run"))
        await engine.tasks.runner.executor.end_orphan(run.run_id, pid)
        await eventually(lambda: not alive(pid), 5)


async def test_a_run_whose_start_up_environment_differs_starts_cold(tmp_path: Path) -> None:
    pool = WarmPool(("json",))
    env = {"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1"}
    try:
        assert pool.zygote_for(sys.executable, env, "main.py") is None  # starts it
        await asyncio.wait_for(pool.wait_ready(), 30)
        assert pool.zygote_for(sys.executable, {**env, "RUN_ID": "r"}, "main.py") is not None
        assert pool.zygote_for(sys.executable, {**env, "PYTHONHASHSEED": "1"}, "main.py") is None
        assert pool.zygote_for(sys.executable, {**env, "RUN_ID": "r" * 64 * 1024}, "main.py") is None
    finally:
        await pool.stop()
