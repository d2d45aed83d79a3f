"""Routes: task/run_once, run_scheduled, run_continuously, get_by_id, list,
get_tasks_by_orch_sha, kill, delete, list_task_runs, get_logs_for_run."""

from __future__ import annotations

from typing import Any, ClassVar

from ..constants import CRONJOB, ONESHOT, SERVICE, TASK_TERMINAL, RunType
from . import requests as r
from .base import JsonRoute


class CreateTask(JsonRoute[r.CreateTask]):
    request_model: ClassVar[type[r.CreateTask]] = r.CreateTask
    status = 201
    run_type: ClassVar[RunType]

    async def handle(self, request: r.CreateTask, *args: str) -> Any:
        task = await self.engine.tasks.launch(
            self.run_type,
            workspace_id=request.workspace_id,
            orch_id=request.orch_id,
            args=request.json_args,
            name=request.name,
            timeout=request.timeout,
            schedule=request.schedule if isinstance(request, r.CreateScheduledTask) else None,
        )
        return {"id": task.id}


class RunOnce(CreateTask):
    run_type: ClassVar[RunType] = ONESHOT


class RunScheduled(CreateTask):
    request_model = r.CreateScheduledTask
    run_type: ClassVar[RunType] = CRONJOB


class RunContinuously(CreateTask):
    run_type: ClassVar[RunType] = SERVICE


class GetTask(JsonRoute[r.GetTask]):
    request_model = r.GetTask

    async def handle(self, request: r.GetTask, *args: str) -> Any:
        wait = request.wait(TASK_TERMINAL)
        if wait is None:
            return await self.engine.tasks.get(request.id, request.run_limit)
        return await self.engine.tasks.wait_for(request.id, *wait, run_limit=request.run_limit)


class ListTasks(JsonRoute[r.TaskList]):
    request_model = r.TaskList

    async def handle(self, request: r.TaskList, *args: str) -> Any:
        page = await self.engine.tasks.list_page(
            request.workspace_id, request.orch_id, request.killed, request.run_limit, request.page()
        )
        return self.page_answer(page)


class TasksByOrchSha(JsonRoute[r.TasksBySha]):
    request_model = r.TasksBySha

    async def handle(self, request: r.TasksBySha, *args: str) -> Any:
        return {"ids": await self.engine.tasks.ids_by_orch_sha(request.sha)}


class KillTask(JsonRoute[r.ById]):
    request_model = r.ById
    status = 202

    async def handle(self, request: r.ById, *args: str) -> Any:
        return await self.engine.tasks.kill(request.id)


class DeleteTask(JsonRoute[r.ById]):
    """`{"id"}`: the task with its runs and logs (an active task is killed first) -> `{}`."""

    request_model = r.ById

    async def handle(self, request: r.ById, *args: str) -> Any:
        await self.engine.retention.delete_task(request.id)
        return {}


class ListTaskRuns(JsonRoute[r.TaskRuns]):
    request_model = r.TaskRuns

    async def handle(self, request: r.TaskRuns, *args: str) -> Any:
        """With `wait_for_count`, hold the answer until that many runs match (or `wait_timeout`)."""
        if request.wait_for_count is None:
            return self.page_answer(await self.engine.tasks.runs_page(request.task_id, request.status, request.page()))
        limit = max(request.page().limit, request.wait_for_count) if request.limit is None else request.limit
        return await self.engine.tasks.wait_for_runs(
            request.task_id, request.status, limit, request.wait_for_count, request.timeout()
        )


class RunLogs(JsonRoute[r.RunLogRequest]):
    request_model = r.RunLogRequest

    async def handle(self, request: r.RunLogRequest, *args: str) -> Any:
        if request.lines is not None:
            return {"logs": await self.engine.tasks.run_logs(request.id, request.lines)}
        return {"logs": self.page_answer(await self.engine.tasks.run_logs_page(request.id, request.page()))}
