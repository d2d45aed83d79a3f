"""`wallaroo.deployment_config`: the reference's fluent deployment settings.

Pipelines deploy into the Jupyter server's process, so the settings are recorded and passed
to `deploy()` but do not reserve resources.
"""

from __future__ import annotations

from typing import Any


class DeploymentConfigBuilder:
    def __init__(self) -> None:
        self._config: dict[str, Any] = {}

    def _set(self, key: str, value: Any) -> DeploymentConfigBuilder:
        self._config[key] = value
        return self

    def replica_count(self, count: int) -> DeploymentConfigBuilder:
        return self._set("replica_count", count)

    def replica_autoscale_min_max(self, maximum: int, minimum: int = 0) -> DeploymentConfigBuilder:
        return self._set("replica_autoscale_min_max", {"minimum": minimum, "maximum": maximum})

    def cpus(self, cpus: float) -> DeploymentConfigBuilder:
        return self._set("cpus", cpus)

    def memory(self, memory_spec: str) -> DeploymentConfigBuilder:
        return self._set("memory", memory_spec)

    def gpus(self, gpus: int) -> DeploymentConfigBuilder:
        return self._set("gpus", gpus)

    def build(self) -> dict[str, Any]:
        return dict(self._config)
