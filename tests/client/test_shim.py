"""The `wallaroo` compatibility shim, as a kernel opts into it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jupyter_orch.compat.wallaroo import DeploymentConfigBuilder
from tests.support.server import ServerProcess

SCRIPT = """
import sys, time
started = time.perf_counter()
import jupyter_orch
assert "pandas" not in sys.modules and "jupyter_orch.client" not in sys.modules, "import must stay cheap"
assert jupyter_orch.enable_wallaroo_alias() is True
import wallaroo
from wallaroo.object import EntityNotFoundError, RequiredAttributeMissing
from wallaroo.framework import Framework
from wallaroo.deployment_config import DeploymentConfigBuilder
from wallaroo.task import ArbexStatus
import jupyter_orch.client as client
assert issubclass(wallaroo.Client, client.Client)
assert EntityNotFoundError is client.EntityNotFoundError and RequiredAttributeMissing is client.RequiredAttributeMissing
assert issubclass(client.ConnectionNotFound, (EntityNotFoundError, RequiredAttributeMissing))
assert Framework.ONNX == "onnx" and wallaroo.DeploymentConfigBuilder is DeploymentConfigBuilder
assert ArbexStatus.PENDING_KILL == "pending_kill" and issubclass(wallaroo.Client._task_class, client.Task)
assert "pandas" not in sys.modules, "the client imports pandas only to infer"
print("ok")
"""


def test_alias_in_a_fresh_interpreter() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_deployment_config_builder() -> None:
    config = (
        DeploymentConfigBuilder().replica_count(2).replica_autoscale_min_max(maximum=4, minimum=1)
        .cpus(0.5).memory("1Gi").gpus(0).build()
    )
    assert config == {"replica_count": 2, "replica_autoscale_min_max": {"minimum": 1, "maximum": 4},
                      "cpus": 0.5, "memory": "1Gi", "gpus": 0}
    assert DeploymentConfigBuilder().build() == {}


def test_reference_sign_in_arguments_are_accepted(orch_server: ServerProcess) -> None:
    from jupyter_orch.compat.wallaroo import Client

    wl = Client(api_endpoint=orch_server.url, token=orch_server.token, auth_type="sso", interactive=False)
    assert wl.list_workspaces() is not None
    with pytest.raises(TypeError, match="bogus"):
        Client(api_endpoint=orch_server.url, bogus=1)
