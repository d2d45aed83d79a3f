"""`import wallaroo` inside jupyter-orch: the reference SDK's names over `jupyter_orch.client`.

Reached through `jupyter_orch.compat.install_wallaroo_alias()` (automatic in task runs).
"""

from . import deployment_config, framework, object, task
from .client import Client
from .deployment_config import DeploymentConfigBuilder

__all__ = ["Client", "DeploymentConfigBuilder", "deployment_config", "framework", "object", "task"]
