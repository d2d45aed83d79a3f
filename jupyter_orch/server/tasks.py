"""Routes: task/run_once, run_scheduled, run_continuously, get_by_id, list,
get_tasks_by_orch_sha, kill, list_task_runs, get_logs_for_run."""

from __future__ import annotations

from typing import Any

from ..engine.tasks.records import CRONJOB, ONESHOT, SERVICE, TASK_TERMINAL
from .base import JsonRoute, route
from .waiting import wait_request, wait_timeout


class CreateTask(JsonRoute):
    status = 201
    run_type: str

    async def handle(self, body: dict[str, Any]) -> Any:
        task = await self.engine.tasks.launch(
            self.run_type,
            workspace_id=body.get("workspace_id"),
            orch_id=body.get("orch_id"),
            args=body.get("json"),
            name=body.get("name"),
            timeout=body.get("timeout"),
            schedule=body.get("schedule"),
        )
        return {"id": task.id}


@route("task/run_once")
class RunOnce(CreateTask):
    run_type = ONESHOT


@route("task/run_scheduled")
class RunScheduled(CreateTask):
    run_type = CRONJOB


@route("task/run_continuously")
class RunContinuously(CreateTask):
    run_type = SERVICE


@route("task/get_by_id")
class GetTask(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        wait = wait_request(body, TASK_TERMINAL)
        if wait is None:
            return self.engine.tasks.get(body.get("id"), body.get("run_limit"))
        return await self.engine.tasks.wait_for(body.get("id"), *wait, run_limit=body.get("run_limit"))


@route("task/list")
class ListTasks(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return self.engine.tasks.list(
            body.get("workspace_id"), body.get("orch_id"), body.get("killed"), body.get("run_limit")
        )


@route("task/get_tasks_by_orch_sha")
class TasksByOrchSha(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return {"ids": self.engine.tasks.ids_by_orch_sha(body.get("sha"))}


@route("task/kill")
class KillTask(JsonRoute):
    status = 202

    async def handle(self, body: dict[str, Any]) -> Any:
        return self.engine.tasks.kill(body.get("id"))


@route("task/list_task_runs")
class ListTaskRuns(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        """With `wait_for_count`, hold the answer until that many runs match (or `wait_timeout`)."""
        args = (body.get("task_id"), body.get("status"), body.get("limit"))
        if "wait_for_count" not in body:
            return self.engine.tasks.runs(*args)
        timeout = wait_timeout(body)
        return await self.engine.tasks.wait_for_runs(*args, body["wait_for_count"], timeout)


@route("task/get_logs_for_run")
class RunLogs(JsonRoute):
    async def handle(self, body: dict[str, Any]) -> Any:
        return {"logs": self.engine.tasks.run_logs(body.get("id"), body.get("lines"))}
