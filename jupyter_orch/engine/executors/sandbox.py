"""The bubblewrap sandbox a local run may execute in (`c.OrchApp.run_sandbox = "bubblewrap"`).

Inside, a run sees the system's files read-only, its environment and orchestration read-only,
its own run folder writable, and empty folders in place of the Jupyter runtime dir, the config
dir and the data dir (where the server's token, other runs and the database live). It has its
own PID namespace, so the server's processes (and their command lines) are out of sight; the
network is shared, so loopback HTTP to the server still works.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 10.0


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Sandbox:
    hidden: tuple[Path, ...]  # each replaced by an empty tmpfs

    @staticmethod
    @functools.cache
    def problem() -> str | None:
        """Why bubblewrap cannot run here (None when it can); probed once per process."""
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
        try:
            probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "true"], capture_output=True, timeout=PROBE_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"'bwrap --ro-bind / / true' could not run: {e}"
        if probe.returncode != 0:
            detail = probe.stderr.decode(errors="replace").strip() or f"exit code {probe.returncode}"
            return f"'bwrap --ro-bind / / true' fails ({detail}): user namespaces are not allowed on this machine"
        return None

    def wrap(self, argv: Sequence[str], writable: Path, readable: Sequence[Path], cwd: Path) -> list[str]:
        """The command line that runs `argv` in the sandbox (blocks on the first probe)."""
        reason = self.problem()
        if reason is not None:
            raise SandboxUnavailable(f"the run sandbox (c.OrchApp.run_sandbox) is unavailable: {reason}")
        cmd = ["bwrap", "--die-with-parent", "--unshare-pid", "--ro-bind", "/", "/",
               "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for path in sorted(self.hidden, key=lambda p: len(p.parts)):  # a folder before what it holds
            if path.exists():
                cmd += ["--tmpfs", str(path)]
        for path in readable:
            cmd += ["--ro-bind", str(path), str(path)]
        cmd += ["--bind", str(writable), str(writable), "--chdir", str(cwd), "--", *argv]
        return cmd
