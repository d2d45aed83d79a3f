"""Pipeline: model steps deployed in the server, inference, and the pipeline's inference log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..constants import ARROW_FILE as ARROW
from .base import Entity
from .datasets import choose, in_families, select
from .deployment_status import reference_status
from .display import local_time
from .errors import StatusError
from .inference import as_table, concat, decode, encode, is_arrow, load_file, with_inputs
from .model import ModelVersion
from .waits import wait_for_status

if TYPE_CHECKING:
    from .inference import Frame

RUNNING, ERROR = "Running", "Error"
LOG_PAGE = 10_000


class Pipeline(Entity):
    def name(self) -> str:
        return self._data["name"]

    def workspace_id(self) -> int:
        return self._data["workspace_id"]

    def create_time(self) -> str | None:
        return self._data.get("created_at")

    def last_update_time(self) -> str | None:
        return self._data.get("updated_at")

    def _post(self, route: str, **fields: Any) -> Pipeline:
        self._data = self._client._http.post(route, {"pipeline_id": self.id(), **fields})
        return self

    def add_model_step(self, model_version: ModelVersion) -> Pipeline:
        return self._post("pipelines/add_model_step", model_version_id=model_version.id())

    def clear(self) -> Pipeline:
        """Remove every step (the next deploy serves the new steps)."""
        return self._post("pipelines/clear")

    def deploy(
        self,
        pipeline_name: str | None = None,
        deployment_config: dict[str, Any] | None = None,
        wait_for_status: bool = True,
        timeout: float | None = 120,
    ) -> Pipeline:
        """Deploy and (by default) wait until the pipeline is `Running`; with
        `wait_for_status=False` return once it is `Starting` (poll `status()`).

        `pipeline_name` must be this pipeline's name when given (the reference accepts it);
        `deployment_config` comes from `DeploymentConfigBuilder().build()`.
        """
        if pipeline_name not in (None, self.name()):
            raise ValueError(f"this pipeline is '{self.name()}', not '{pipeline_name}'")
        fields: dict[str, Any] = {"deployment_config": dict(deployment_config)} if deployment_config else {}
        if not wait_for_status:
            self._post("pipelines/deploy", wait=False, **fields)
            print(f"Deployment initiated for {self.name()}. Please check pipeline status.")
            return self
        self._post("pipelines/deploy", **fields)
        self.wait_for_running(timeout)
        return self

    def wait_for_running(self, timeout: float | None = 120) -> Pipeline:
        """Block until the deployment is `Running`; `StatusError` on `Error`."""
        def fetch(wait: dict[str, Any], http_timeout: float) -> dict[str, Any]:
            body = {"pipeline_id": self.id(), **wait}
            return self._client._http.post("pipelines/status", body, timeout=http_timeout)

        status = wait_for_status(fetch, (RUNNING, ERROR), timeout, f"pipeline '{self.name()}'")
        if status["status"] == ERROR:
            raise StatusError(f"pipeline '{self.name()}'", ERROR, str(status.get("details") or ""))
        return self

    def undeploy(self) -> Pipeline:
        return self._post("pipelines/undeploy")

    def status(self) -> dict[str, Any]:
        """`{"status": "Running" | "Starting" | "Error" | "Undeployed", "details": [...],
        "engines": [...], "engine_lbs": [...], "sidekicks": []}` (the reference's shape)."""
        answer = self._client._http.post("pipelines/status", {"pipeline_id": self.id()})
        return reference_status(answer, self.name(), self._data.get("steps") or [], self._client._http.url)

    def infer(
        self,
        tensor: Frame,
        timeout: float | None = None,
        dataset: list[str] | None = None,
        dataset_exclude: list[str] | None = None,
        dataset_separator: str | None = None,
    ) -> Frame:
        """Infer a DataFrame (answer: a DataFrame) or a pyarrow Table (answer: a Table, sent and
        received as Arrow IPC). Columns: time, in.<col>, out.<output>, anomaly.count; `dataset`
        chooses others (see `datasets`)."""
        wanted = choose(dataset, dataset_exclude)
        body, headers = encode(tensor)
        content, content_type = self._client._inference.infer(
            self.id(), self.name(), self.workspace_id(), body, headers, timeout
        )
        return infer_answer(content, content_type, tensor, wanted, dataset_separator)

    def infer_from_file(
        self,
        filename: str | Path,
        data_format: str | None = None,
        timeout: float | None = None,
        dataset: list[str] | None = None,
        dataset_exclude: list[str] | None = None,
        dataset_separator: str | None = None,
    ) -> Frame:
        """Infer a `.arrow` file (answer: a Table) or a pandas-records `.json` file (a DataFrame)."""
        frame = load_file(Path(filename), data_format)
        return self.infer(frame, timeout, dataset, dataset_exclude, dataset_separator)

    def logs(
        self,
        limit: int | None = None,
        start_datetime: datetime | None = None,
        end_datetime: datetime | None = None,
        arrow: bool = False,
        dataset: list[str] | None = None,
        dataset_exclude: list[str] | None = None,
        dataset_separator: str | None = None,
    ) -> Frame:
        """Inference log rows (at most `limit`, default 100), in [start, end] when both are
        given. Naive datetimes are local time. Travels as Arrow; a DataFrame unless `arrow`.
        Columns as `infer` gives them, chosen by `dataset` the same way."""
        if (start_datetime is None) != (end_datetime is None):
            raise ValueError("give both start_datetime and end_datetime, or neither")
        wanted = choose(dataset, dataset_exclude)
        limit = 100 if limit is None else limit
        body: dict[str, Any] = {"pipeline_name": self.name(), "workspace_id": self.workspace_id()}
        if start_datetime is not None and end_datetime is not None:
            body["start_time"], body["end_time"] = _utc_iso(start_datetime), _utc_iso(end_datetime)
        tables = []
        rows = 0
        while rows < limit:
            body["page_size"] = min(limit - rows, LOG_PAGE)
            response = self._client._http.send("pipelines/get_logs", json=body, headers={"Accept": ARROW})
            table = as_table(decode(response.content, response.headers.get("Content-Type", "")))
            tables.append(table)
            rows += table.num_rows
            cursor = response.headers.get("x-iteration-cursor")
            if not cursor or table.num_rows == 0 or response.headers.get("x-iteration-status") == "All":
                break
            body["cursor"] = cursor
        result = select(concat(tables), wanted, dataset_separator)
        return result if arrow else result.to_pandas()

    def steps(self) -> list[str]:
        """The model names of the pipeline's steps."""
        steps = self._data.get("steps") or []
        return [s if isinstance(s, str) else s.get("name") or s.get("model_name") or str(s) for s in steps]

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name(),
            "created": local_time(self.create_time()),
            "last_updated": local_time(self.last_update_time()),
            "deployed": self._data.get("deployed"),
            "workspace_id": self.workspace_id(),
            "workspace_name": self._client._workspace_name(self.workspace_id()),
            "versions": self._data.get("versions") or [],
            "steps": self.steps(),
        }


def _utc_iso(moment: datetime) -> str:
    """A naive datetime is local time (as `datetime.now()` gives); send it with its offset."""
    return moment.astimezone(UTC).isoformat()


def infer_answer(content: bytes, content_type: str, like: Frame, wanted: set[str], separator: str | None) -> Frame:
    """An infer answer in the kind of `like`, with the `wanted` column families only."""
    import pyarrow as pa

    answer = decode(content, content_type, like, lambda column: in_families(column, wanted))
    if isinstance(answer, pa.Table) and isinstance(like, pa.Table):
        answer = with_inputs(answer, like)
    elif separator is None and not is_arrow(content, content_type):
        return answer  # decoded with the wanted columns only, its time naive already
    return select(answer, wanted, separator)
