"""Start a task run: `python -u bootstrap.py <entrypoint>`, with cwd the zip root.

Installs the `wallaroo` alias, then runs the entrypoint as `__main__` the way
`python <entrypoint>` would (its own directory first on sys.path). It imports nothing heavy:
a run's start latency is decided by what its launcher imports.
"""

import os
import runpy
import sys


def main() -> None:
    entrypoint = sys.argv[1]
    # Run as a script, sys.path[0] is this file's folder; the entrypoint's own folder replaces it.
    sys.path[0] = os.path.dirname(os.path.abspath(entrypoint))
    from jupyter_orch.compat import install_wallaroo_alias

    install_wallaroo_alias()
    sys.argv = [entrypoint]
    runpy.run_path(entrypoint, run_name="__main__")


if __name__ == "__main__":
    main()
