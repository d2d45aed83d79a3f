"""Request bodies as pydantic models: the one place where what a caller sends is checked.

`parse(Model, body)` answers a model or raises `Invalid` with a sentence per problem
(`'workspace_id' must be an integer, got 'x'`), which the routes answer as a 400.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
)
from pydantic_core import ErrorDetails

from ..constants import CHAIN_KEYS, RunFilter
from ..engine import Invalid
from ..engine.paging import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from ..engine.timeutil import parse_time

MAX_WAIT_S = 300.0
DEFAULT_WAIT_S = 30.0
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
INT64_MAX = 2**63 - 1
MAX_PAGE_SIZE = 1_000_000

Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], body: dict[str, Any]) -> Model:
    try:
        return model.model_validate(body)
    except ValidationError as e:
        sentences: dict[str, str] = {}
        for error in e.errors():  # a union reports each of its arms: the first says enough
            field = str(error["loc"][0]) if error["loc"] else "body"
            sentences.setdefault(field, _sentence(field, error))
        raise Invalid("; ".join(sentences.values())) from None


def _sentence(field: str, error: ErrorDetails) -> str:
    kind, given, ctx = error["type"], error.get("input"), error.get("ctx", {})
    if kind == "missing":
        return f"'{field}' is required"
    if kind == "value_error":
        return f"'{field}' {ctx['error']}"
    if kind == "literal_error":
        return f"'{field}' must be one of {ctx['expected']}, got {_shown(given)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"'{field}' must be from {ctx.get('ge', 1)} to {ctx.get('le', '...')}, got {_shown(given)}"
    described = {
        "int": "an integer", "string": "a string", "uuid": "a UUID", "dict": "a JSON object",
        "bool": "true or false", "float": "a number", "list": "a list",
    }
    for prefix, words in described.items():
        if kind.startswith(prefix):
            return f"'{field}' must be {words}, got {_shown(given)}"
    return f"'{field}': {error['msg']}, got {_shown(given)}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- field types ---------------------------------------------------------------------------


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {value!r}")
    return value


def _digits(value: Any) -> Any:
    """Integer ids may arrive as digit strings (query strings, older scripts)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _int64(value: int) -> int:
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ValueError(f"is out of range (64-bit integers only), got {str(value)[:30]}")
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _name() -> Any:
    def check(value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                "must start with a letter and hold only letters, digits, '_' and '-' "
                f"(at most 63 characters), got {value!r}"
            )
        return value

    return AfterValidator(check)


def _finite_positive() -> Any:
    def check(value: float) -> float:
        if not 0 < value < math.inf:
            raise ValueError(f"must be a positive number of seconds, got {value!r}")
        return value

    return AfterValidator(check)


def _not_negative() -> Any:
    def check(value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    return AfterValidator(check)


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"must be a UUID, got {value!r}") from None


Id = Annotated[int, BeforeValidator(_digits), BeforeValidator(_no_bool), AfterValidator(_int64)]
Uuid = Annotated[str, AfterValidator(_uuid)]
Text = Annotated[str, AfterValidator(_non_empty)]
Limit = Annotated[int, BeforeValidator(_no_bool), AfterValidator(_int64)]
Seconds = Annotated[float, BeforeValidator(_no_bool)]


class Body(BaseModel):
    """Unknown fields are ignored, as the reference does; known ones are checked."""

    model_config = ConfigDict(extra="ignore", frozen=True)


PageLimit = Annotated[Limit, Field(ge=1, le=MAX_LIMIT)]


class Paging(Body):
    """A list that can grow: `limit` items (default `default_limit`), after `cursor` (the
    `x-iteration-cursor` header of the previous page)."""

    limit: PageLimit | None = None
    cursor: str | None = None
    default_limit: ClassVar[int] = DEFAULT_LIMIT

    def page(self) -> PageRequest:
        return PageRequest(self.default_limit if self.limit is None else self.limit, self.cursor or None)


class HeldAnswer(Body):
    """A request whose answer may be held: `wait_timeout` in seconds, default 30, at most 300."""

    wait_timeout: Annotated[float, BeforeValidator(_no_bool)] = DEFAULT_WAIT_S

    def timeout(self) -> float:
        if not 0 <= self.wait_timeout < math.inf:
            raise Invalid("'wait_timeout' must be a non-negative number of seconds")
        return min(self.wait_timeout, MAX_WAIT_S)


class Wait(HeldAnswer):
    """`wait_for` (a status, a list of statuses, or "terminal") turns a get into a held answer."""

    wait_for: str | list[Text] | None = None

    def wait(self, terminal: tuple[str, ...]) -> tuple[tuple[str, ...], float] | None:
        if self.wait_for is None:
            return None
        timeout = self.timeout()
        wanted = self.wait_for
        if isinstance(wanted, list) and not wanted:
            raise Invalid("'wait_for' must be a status, a list of statuses or \"terminal\"")
        statuses = terminal if wanted == "terminal" else (wanted,) if isinstance(wanted, str) else tuple(wanted)
        return statuses, timeout


# --- workspaces and connections --------------------------------------------------------------


class CreateWorkspace(Body):
    workspace_name: Annotated[str, _name()]


class CreateConnection(Body):
    name: Text
    type: Text
    details: dict[str, Any]


class ConnectionName(Body):
    name: Text


class ById(Body):
    id: Uuid


class ConnectionList(Paging):
    workspace_id: Id | None = None


class ConnectionInWorkspace(Body):
    workspace_id: Id
    connection_id: Uuid


# --- orchestrations -------------------------------------------------------------------------


class UploadMetadata(Body):
    workspace_id: Id
    name: str | None = None
    entrypoint: str | None = None  # the member to run, e.g. "analysis.ipynb" (default: main.py, else main.ipynb)


class NotebookUpload(Body):
    """`{"path", "workspace_id", "name"?}`: a notebook below the server's root, with its folder."""

    path: Text
    workspace_id: Id
    name: str | None = None


class OrchestrationList(Paging):
    workspace_id: Annotated[
        Id | None, Field(description="required: orchestration/list_all lists every workspace")
    ] = None


class GetOrchestration(Wait):
    id: Uuid


class DeleteOrchestrations(Body):
    orchestrations: Annotated[list[Uuid], Field(min_length=1, max_length=1000)]
    confirm_delete: StrictBool = False


# --- tasks ------------------------------------------------------------------------------------


class Chained(Body):
    """A task's follow-ups (engine/tasks/chains.py): run-once bodies started when one of its
    runs ends in success (`on_success`) or finally fails or times out (`on_failure`)."""

    on_success: FollowUp | None = None
    on_failure: FollowUp | None = None

    def chain(self, given_only: bool = False) -> dict[str, dict[str, Any] | None]:
        """The follow-ups as engine bodies (`json` for the arguments), None for none; with
        `given_only`, only the keys the caller sent."""
        keys = [k for k in CHAIN_KEYS if not given_only or k in self.model_fields_set]
        return {k: None if (step := getattr(self, k)) is None else step.model_dump(by_alias=True, exclude_none=True)
                for k in keys}


class CreateTask(Chained):
    workspace_id: Id
    orch_id: Uuid
    json_args: Annotated[dict[str, Any] | None, Field(alias="json")] = None
    name: Text | None = None
    timeout: Annotated[Seconds, _finite_positive()] | None = None


def _wall_time(value: Any) -> Any:
    """An ISO 8601 time; one without an offset stays naive (the schedule's zone places it)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    raise ValueError(f"must be an ISO 8601 time such as '2026-12-31T23:00:00', got {_shown(value)}")


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError(f"must be a positive integer, got {value}")
    return value


WallTime = Annotated[datetime, BeforeValidator(_wall_time)]
RunCount = Annotated[int, BeforeValidator(_no_bool), AfterValidator(_int64), AfterValidator(_positive)]
MAX_PREVIEW = 100
MAX_RETRIES = 100


class ScheduleControls(Body):
    """A schedule's time zone (IANA, default UTC), end and run cap."""

    tz: Text | None = None
    end_date: WallTime | None = None
    max_runs: RunCount | None = None


class Retries(Body):
    """Retry a failed or timed-out run up to `max_retries` times, the first after `retry_delay`
    seconds (default 10), doubling each time, with jitter."""

    max_retries: Annotated[Limit, Field(ge=0, le=MAX_RETRIES)] | None = None
    retry_delay: Annotated[Seconds, _finite_positive()] | None = None


class CreateOnceTask(CreateTask, Retries):
    pass


class FollowUp(Chained, Retries):
    """A run-once body, as `task/run_once` takes it; `workspace_id` (the task's when left out)
    must be its task's."""

    orch_id: Uuid
    workspace_id: Id | None = None
    json_args: Annotated[dict[str, Any] | None, Field(alias="json")] = None
    name: Text | None = None
    timeout: Annotated[Seconds, _finite_positive()] | None = None


class UpdateChain(Chained):
    """`{"id"}` + `on_success` and/or `on_failure` (a run-once body, or null: none)."""

    id: Uuid


class CreateScheduledTask(CreateTask, ScheduleControls, Retries):
    schedule: Text


class PauseTask(Body):
    id: Uuid
    pause: StrictBool


class UpdateSchedule(ScheduleControls):
    """Only the fields given change; null clears tz, end_date, max_runs and timeout."""

    id: Uuid
    schedule: Text | None = None
    json_args: Annotated[dict[str, Any] | None, Field(alias="json")] = None
    timeout: Annotated[Seconds, _finite_positive()] | None = None

    def changes(self) -> dict[str, Any]:
        given = self.model_fields_set - {"id"}
        return {"json" if name == "json_args" else name: getattr(self, name) for name in given}


class RunNow(Body):
    """`{"id"}` of a scheduled task, with `json` and `timeout` for this run only."""

    id: Uuid
    json_args: Annotated[dict[str, Any] | None, Field(alias="json")] = None
    timeout: Annotated[Seconds, _finite_positive()] | None = None


class NextFires(ScheduleControls):
    """`{"id"}` of a scheduled task, or `{"schedule", "tz"?, "end_date"?, "max_runs"?}` to preview."""

    id: Uuid | None = None
    schedule: Text | None = None
    count: Annotated[Limit, Field(ge=1, le=MAX_PREVIEW)] = 5


class GetTask(Wait):
    id: Uuid
    run_limit: Annotated[Limit, _not_negative()] | None = None


class TaskList(Paging):
    workspace_id: Id | None = None
    orch_id: Uuid | None = None
    killed: StrictBool | None = None
    run_limit: Annotated[Limit, _not_negative()] | None = None


class TasksBySha(Body):
    sha: Text


class TaskRuns(HeldAnswer, Paging):
    task_id: Uuid
    status: RunFilter = "all"
    wait_for_count: Annotated[Limit, _not_negative()] | None = None
    default_limit: ClassVar[int] = 100


class RunLogRequest(Paging):
    """`lines`: the last n lines (the reference's form); else a page of lines, oldest first."""

    id: Uuid
    lines: Annotated[Limit, _not_negative()] | None = None
    default_limit: ClassVar[int] = MAX_LIMIT


class RunArtifacts(Paging):
    """`{"id": run_id}`: a page of the run's artifacts, by path."""

    id: Uuid


# --- models and pipelines --------------------------------------------------------------------


class ModelMetadata(Body):
    name: Annotated[str, _name()]
    workspace_id: Id


class ModelList(Body):
    workspace_id: Id


class GetModel(Body):
    """`{"id"}` (integer id or version UUID), or `{"name", "workspace_id"?}` for the newest."""

    id: Id | Uuid | None = None
    name: Text | None = None
    workspace_id: Id | None = None


class DeleteModel(Body):
    id: Id | Uuid


class ConfigureModel(Body):
    model_version_id: Id | Uuid
    tensor_fields: list[Text] | None = None


PipelineRef = Annotated[int, BeforeValidator(_no_bool), AfterValidator(_int64)] | Text


class PipelineRequest(Body):
    """`pipeline_id` is the pipeline's name (the reference's convention) or its integer id."""

    pipeline_id: PipelineRef
    workspace_id: Id | None = None


class CreatePipeline(Body):
    pipeline_id: Annotated[str, _name()]
    workspace_id: Id
    definition: dict[str, Any] | None = None


class PipelineList(Body):
    workspace_id: Id | None = None


class AddModelStep(PipelineRequest):
    model_version_id: Id | Uuid


class DeployRequest(PipelineRequest):
    wait: StrictBool = True


class PipelineStatus(PipelineRequest, Wait):
    pass


def _log_time(value: Any) -> Any:
    """An ISO 8601 time (naive = UTC) or epoch milliseconds."""
    if value is None:
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC)
        if isinstance(value, str):
            return parse_time(value)
    except (ValueError, OverflowError, OSError):
        pass
    raise ValueError(f"must be an ISO 8601 time or epoch milliseconds, got {value!r}")


LogTime = Annotated[datetime, BeforeValidator(_log_time)]


class InferQuery(Body):
    workspace_id: Id | None = None


class InferenceLogRequest(Body):
    pipeline_name: Text
    workspace_id: Id | None = None
    start_time: LogTime | None = None
    end_time: LogTime | None = None
    order: Literal["asc", "desc"] = "desc"
    page_size: Annotated[Limit, Field(ge=1, le=MAX_PAGE_SIZE)] | None = None
    cursor: str | None = None
    count: StrictBool = False  # also answer x-total-count: the rows in the time range
