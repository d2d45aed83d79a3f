"""`pipeline.status()` in the reference SDK's documented shape.

The reference reports its deployment's processes: `engines` (each with the pipeline's and the
models' statuses), `engine_lbs` (the load balancer in front of them) and `sidekicks` (model
servers for other runtimes). Here a deployment lives in the Jupyter server process, so while a
pipeline is deployed that process is its one engine and its one load balancer, and there are
no sidekicks.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

UNDEPLOYED = "Undeployed"


def reference_status(answer: dict[str, Any], pipeline_name: str, steps: list[dict[str, Any]],
                     server_url: str) -> dict[str, Any]:
    """The server's `{"status", "details"}` answer with `engines`, `engine_lbs`, `sidekicks`."""
    status = answer["status"]
    deployed = status != UNDEPLOYED
    error = next((d["error"] for d in answer.get("details") or [] if d.get("error")), None)
    ip = urlsplit(server_url).hostname
    engine = {
        "ip": ip,
        "name": f"engine-{pipeline_name}",
        "status": status,
        "reason": error,
        "details": [],
        "pipeline_statuses": {"pipelines": [{"id": pipeline_name, "status": status}]},
        "model_statuses": {"models": [
            {"name": s["name"], "version": s["version"], "sha": s["sha"], "status": status} for s in steps
        ]},
    }
    load_balancer = {"ip": ip, "name": f"engine-lb-{pipeline_name}", "status": status, "reason": error,
                     "details": []}
    return {
        **answer,
        "engines": [engine] if deployed else [],
        "engine_lbs": [load_balancer] if deployed else [],
        "sidekicks": [],
    }
