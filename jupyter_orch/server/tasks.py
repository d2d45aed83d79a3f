"""Routes: task/run_once, run_scheduled, run_continuously, get_by_id, list,
get_tasks_by_orch_sha, kill, delete, list_task_runs, get_logs_for_run; the schedule controls pause,
update_schedule and next_fires; run_now (with overrides) and rerun; update_chain (a task's
on_success / on_failure follow-ups)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..constants import CRONJOB, ONESHOT, SERVICE, TASK_TERMINAL, RunType
from ..engine import Invalid
from ..engine.timeutil import iso
from . import requests as r
from .base import JsonRoute


class CreateTask(JsonRoute[r.CreateTask]):
    request_model: ClassVar[type[r.CreateTask]] = r.CreateTask
    status = 201
    run_type: ClassVar[RunType]

    async def handle(self, request: r.CreateTask, *args: str) -> Any:
        scheduled = request if isinstance(request, r.CreateScheduledTask) else None
        options: dict[str, Any] = dict(request.chain())
        if isinstance(request, r.Retries):
            options.update(max_retries=request.max_retries, retry_delay=request.retry_delay)
        if scheduled:
            options.update(schedule=scheduled.schedule, tz=scheduled.tz, end_date=scheduled.end_date,
                           max_runs=scheduled.max_runs)
        task = await self.engine.tasks.create(
            self.run_type,
            workspace_id=request.workspace_id,
            orch_id=request.orch_id,
            args=request.json_args,
            name=request.name,
            timeout=request.timeout,
            until_started=True,
            **options,
        )
        return {"id": task.id}


class RunOnce(CreateTask):
    request_model = r.CreateOnceTask
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


class PauseTask(JsonRoute[r.PauseTask]):
    request_model = r.PauseTask

    async def handle(self, request: r.PauseTask, *args: str) -> Any:
        return await self.engine.tasks.pause(request.id, request.pause)


class UpdateSchedule(JsonRoute[r.UpdateSchedule]):
    request_model = r.UpdateSchedule

    async def handle(self, request: r.UpdateSchedule, *args: str) -> Any:
        return await self.engine.tasks.update_schedule(request.id, request.changes())


class NextFires(JsonRoute[r.NextFires]):
    request_model = r.NextFires

    async def handle(self, request: r.NextFires, *args: str) -> Any:
        if (request.id is None) == (request.schedule is None):
            raise Invalid("give either 'id' (a scheduled task) or 'schedule' (to preview one), not both")
        if request.id is not None:
            fires = await self.engine.tasks.next_fires(request.id, request.count)
        else:
            assert request.schedule is not None
            fires = self.engine.tasks.preview_fires(request.schedule, request.tz, request.end_date,
                                                    request.max_runs, request.count)
        return {"fires": [iso(at) for at in fires]}


class RunNow(JsonRoute[r.RunNow]):
    request_model = r.RunNow
    status = 201

    async def handle(self, request: r.RunNow, *args: str) -> Any:
        return await self.engine.tasks.run_now(request.id, request.json_args, request.timeout)


class UpdateChain(JsonRoute[r.UpdateChain]):
    request_model = r.UpdateChain

    async def handle(self, request: r.UpdateChain, *args: str) -> Any:
        return await self.engine.tasks.update_chain(request.id, request.chain(given_only=True))


class Rerun(JsonRoute[r.ById]):
    request_model = r.ById
    status = 201

    async def handle(self, request: r.ById, *args: str) -> Any:
        return await self.engine.tasks.rerun(request.id)
