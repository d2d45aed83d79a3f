"""IPython magics: `%%orch_upload` turns a cell into an orchestration, `%orch_upload_notebook` a
notebook with its folder, `%orch` drives the rest.

Loaded with `%load_ext jupyter_orch`. Wrong usage and server refusals are one-line
`UsageError`s, never a traceback: the argument parser raises instead of exiting.
"""

from __future__ import annotations

import argparse
import io
import json
import keyword
import re
import shlex
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import requests
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand

from ..client import Client, ClientError, Orchestration, Task, TaskRun, Workspace
from ..client.display import local_time, record_html, table_html
from ..client.errors import ApiNotFound
from ..client.frontend import workspace_bundle
from ..constants import CHAIN_KEYS
from ..engine.orchestrations.notebook_folders import NotebookFolderError, notebook_zip
from .widgets import OrchestrationWidget, TaskWidget

if TYPE_CHECKING:
    from ..client.dryrun import DryRun

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=32)


class UsageParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one-line `UsageError`s instead of `SystemExit`."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.update(add_help=False, formatter_class=_Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or f"{self.prog}: invalid usage")

    def parse(self, line: str) -> argparse.Namespace:
        try:
            words = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"{self.prog}: {e}") from None
        return self.parse_args(words)


def schedule_options(parser: UsageParser) -> None:
    parser.add_argument("--tz", metavar="ZONE", help="IANA time zone of the schedule, e.g. Europe/Paris (default UTC)")
    parser.add_argument("--end-date", type=datetime.fromisoformat, metavar="T",
                        help="no fire after this ISO time (in the schedule's zone if naive)")
    parser.add_argument("--max-runs", type=int, metavar="N", help="end the schedule after N runs")


def chain_options(parser: UsageParser, clearing: bool = False) -> None:
    also = "; none: no more follow-up" if clearing else ""
    parser.add_argument("--on-success", metavar="ORCH", help=f"orchestration run after a successful run{also}")
    parser.add_argument("--on-failure", metavar="ORCH", help=f"orchestration run after a run finally fails{also}")


def positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


def duration(value: str) -> timedelta:
    """`90s`, `10m`, `2h`, `1d`."""
    match = DURATION.match(value)
    if match is None:
        raise ValueError(value)
    return timedelta(**{UNITS[match[2]]: float(match[1])})


def upload_parser() -> UsageParser:
    parser = UsageParser(prog="%%orch_upload", description="Upload the cell as an orchestration's main.py.")
    parser.add_argument("name", help="the orchestration's name")
    parser.add_argument("--requirements", default="", help='requirements, e.g. "pandas==2.2 six"')
    parser.add_argument("--include", nargs="+", action="extend", default=[], metavar="PATH",
                        help="files or folders added to the zip")
    parser.add_argument("--workspace", help="upload to this workspace (default: the current one)")
    parser.add_argument("--as", dest="var", help="the variable to bind (default: the sanitized name)")
    return parser


def notebook_upload_parser() -> UsageParser:
    parser = UsageParser(prog="%orch_upload_notebook",
                         description="Upload a notebook with its folder's files; the notebook runs as main.ipynb.")
    parser.add_argument("path", metavar="PATH", help="the notebook (.ipynb)")
    parser.add_argument("--name", help="the orchestration's name (default: the notebook's)")
    parser.add_argument("--workspace", help="upload to this workspace (default: the current one)")
    parser.add_argument("--as", dest="var", help="the variable to bind (default: the sanitized name)")
    return parser


def orch_parser() -> tuple[UsageParser, dict[str, UsageParser]]:
    """The `%orch` parser and its subcommands' parsers by name."""
    parser = UsageParser(prog="%orch", description="Orchestrations, tasks, pipelines.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=UsageParser)

    def add(name: str, summary: str) -> UsageParser:
        return sub.add_parser(name, help=summary, description=summary)

    add("help", "show this help, or one command's").add_argument("topic", nargs="?")
    add("list", "orchestrations of the current workspace")
    add("status", "live status of an orchestration or a task").add_argument("ref", metavar="ID")
    runs = (("run", "run an orchestration once"), ("schedule", "run an orchestration on a cron schedule"))
    for name, summary in runs:
        p = add(name, summary)
        p.add_argument("orch", metavar="ORCH", help="orchestration id or name")
        if name == "schedule":
            p.add_argument("schedule", metavar="CRON", help='e.g. "*/5 * * * *" or @hourly')
            schedule_options(p)
        p.add_argument("--name", help="the task's name (default: the orchestration's)")
        p.add_argument("--args", default="{}", metavar="JSON", help="JSON object, or a dict variable's name")
        p.add_argument("--timeout", type=positive, metavar="S", help="seconds before a run is stopped")
        p.add_argument("--retries", type=int, metavar="N", help="retry a failed run up to N times")
        p.add_argument("--retry-delay", type=positive, metavar="S",
                       help="seconds before the first retry (doubling; default 10)")
        chain_options(p)
    p = add("chain", "set or clear a task's follow-ups (they get the ending run's id as upstream_run_id)")
    p.add_argument("task", metavar="TASK")
    chain_options(p, clearing=True)
    add("pause", "pause a scheduled task (no fire until resumed)").add_argument("task", metavar="TASK")
    add("resume", "resume a paused scheduled task from now on").add_argument("task", metavar="TASK")
    p = add("reschedule", "edit a scheduled task; its id and runs stay")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--cron", metavar="CRON", help="the new schedule")
    schedule_options(p)
    p.add_argument("--args", metavar="JSON", help="new arguments: JSON object, or a dict variable's name")
    p.add_argument("--timeout", type=positive, metavar="S", help="seconds before a run is stopped")
    p = add("runnow", "run a scheduled task now; --args and --timeout for this run only")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--args", metavar="JSON", help="arguments for this run: JSON object, or a dict variable's name")
    p.add_argument("--timeout", type=positive, metavar="S", help="seconds before this run is stopped")
    add("rerun", "run a finished run again, with the arguments it ran with").add_argument("run", metavar="RUN")
    p = add("dryrun", "run an orchestration folder or zip here as a task run would, without uploading it")
    p.add_argument("path", metavar="PATH", help="a folder holding main.py, or a .zip")
    p.add_argument("--args", "--json", dest="args", default="{}", metavar="JSON",
                   help="JSON object, or a dict variable's name")
    p = add("fires", "the next fires of a scheduled task, or of a cron expression")
    p.add_argument("ref", metavar="TASK_OR_CRON")
    p.add_argument("--tz", metavar="ZONE", help="for a cron expression: its IANA time zone (default UTC)")
    p.add_argument("-n", "--count", type=int, default=5, metavar="N")
    add("tasks", "tasks of the current workspace").add_argument(
        "--all", action="store_true", help="killed tasks too")
    add("kill", "kill a task").add_argument("task", metavar="TASK")
    p = add("runs", "a task's runs, newest first")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--limit", type=int, default=20)
    p = add("logs", "a run's log (a task's newest run)")
    p.add_argument("ref", metavar="RUN_OR_TASK")
    p.add_argument("--lines", type=int, default=50, metavar="N")
    p = add("artifacts", "the files a run kept from its outputs/ folder (a task's newest run)")
    p.add_argument("ref", metavar="RUN_OR_TASK")
    add("pipelines", "pipelines of the current workspace")
    p = add("plogs", "a pipeline's inference log")
    p.add_argument("pipeline", metavar="PIPELINE")
    p.add_argument("--last", type=duration, metavar="DURATION", help="e.g. 10m, 2h, 1d")
    p.add_argument("--start", type=datetime.fromisoformat, metavar="T", help="ISO time (local if naive)")
    p.add_argument("--end", type=datetime.fromisoformat, metavar="T")
    p.add_argument("--limit", type=int, default=100)
    add("connections", "connections")
    p = add("workspace", "switch the current workspace (show it without NAME)")
    p.add_argument("name", nargs="?")
    p.add_argument("--create", action="store_true", help="make it when it does not exist")
    return parser, sub.choices


def sanitized(name: str) -> str:
    """A valid Python identifier from an orchestration name."""
    ident = re.sub(r"\W", "_", name) or "orchestration"
    if ident[0].isdigit():
        ident = "_" + ident
    return ident + "_" if keyword.iskeyword(ident) else ident


def build_zip(main: str, requirements: str, includes: list[str]) -> bytes:
    """main.py from the cell, requirements.txt from the option, then the included paths
    (relative to the working directory when inside it, else by their own name)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("main.py", main)
        if requirements.split():
            archive.writestr("requirements.txt", "\n".join(requirements.split()) + "\n")
        for arcname, path in _included_files(includes):
            if arcname in archive.namelist():
                raise UsageError(f"%%orch_upload: --include {path} collides with {arcname} in the zip")
            archive.write(path, arcname)
    return buffer.getvalue()


def _included_files(includes: list[str]) -> Iterator[tuple[str, Path]]:
    cwd = Path.cwd().resolve()
    for given in includes:
        path = Path(given).expanduser().resolve()
        if not path.exists():
            raise UsageError(f"%%orch_upload: --include {given}: no such file or folder")
        base = cwd if path.is_relative_to(cwd) else path.parent
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" not in file.parts:
                yield file.relative_to(base).as_posix(), file


def _is_uuid(ref: str) -> bool:
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A server refusal or an unreachable server is a one-line message, not a traceback."""
    try:
        yield
    except ClientError as e:
        raise UsageError(str(e)) from None
    except requests.RequestException as e:
        raise UsageError(f"the jupyter-orch server did not answer: {e}") from None


class CurrentWorkspace:
    """The kernel's current workspace, shown as the workspace itself; its display also carries
    WORKSPACE_MIME, which the JupyterLab sidebar reads to follow the kernel's workspace."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        ws = self.workspace
        return {"text/plain": repr(ws), "text/html": ws._repr_html_(), **workspace_bundle(ws.id(), ws.name())}


class FireTimes(list[datetime]):
    """Fire times, shown on the schedule's wall clock, in UTC and in the viewer's zone."""

    def __init__(self, fires: list[datetime], tz: str):
        super().__init__(fires)
        self.tz = tz

    def _repr_html_(self) -> str:
        if not self:
            return record_html({"next fires": "(none: the schedule has ended)"})
        zone = ZoneInfo(self.tz)
        return table_html({self.tz: at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z"),
                           "UTC": at.strftime("%Y-%m-%d %H:%M:%S"), "local": local_time(at)} for at in self)


@magics_class
class OrchMagics(Magics):
    def __init__(self, shell: Any):
        super().__init__(shell)
        self._client: Client | None = None
        self._upload_parser = upload_parser()
        self._notebook_upload_parser = notebook_upload_parser()
        self._parser, self._subparsers = orch_parser()
        self._commands: dict[str, Callable[[argparse.Namespace], Any]] = {
            "help": self._help, "list": self._list, "status": self._status, "run": self._run,
            "schedule": self._run, "tasks": self._tasks, "kill": self._kill, "runs": self._runs,
            "logs": self._logs, "pipelines": self._pipelines, "plogs": self._plogs,
            "connections": self._connections, "workspace": self._workspace,
            "pause": self._pause, "resume": self._resume, "reschedule": self._reschedule, "fires": self._fires,
            "runnow": self._run_now, "rerun": self._rerun, "chain": self._chain, "dryrun": self._dry_run,
            "artifacts": self._artifacts,
        }

    @property
    def _namespace(self) -> dict[str, Any]:
        """The user's namespace (a magic always runs in a shell)."""
        assert self.shell is not None
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client()
        return self._client

    @no_var_expand
    @cell_magic
    def orch_upload(self, line: str, cell: str) -> OrchestrationWidget:
        """%%orch_upload NAME [--requirements "pkg==1.0 other"] [--include PATH ...]
        [--workspace W] [--as VAR]: upload the cell as main.py; show live packaging."""
        args = self._upload_parser.parse(line)
        var = args.var or sanitized(args.name)
        if not var.isidentifier() or keyword.iskeyword(var):
            raise UsageError(f"%%orch_upload: --as {var!r} is not a valid variable name")
        data = build_zip(cell, args.requirements, args.include)
        with one_line_errors():
            orchestration = self._upload(data, args.name, args.workspace)
            self._namespace[var] = orchestration
            return OrchestrationWidget(orchestration)

    @no_var_expand
    @line_magic
    def orch_upload_notebook(self, line: str) -> OrchestrationWidget:
        """%orch_upload_notebook PATH [--name N] [--workspace W] [--as VAR]: upload the notebook
        with its folder's files (it runs as main.ipynb, `json` arguments injected after its
        `parameters` cell); show live packaging."""
        args = self._notebook_upload_parser.parse(line)
        path = Path(args.path).expanduser()
        name = args.name or path.stem
        var = args.var or sanitized(name)
        if not var.isidentifier() or keyword.iskeyword(var):
            raise UsageError(f"%orch_upload_notebook: --as {var!r} is not a valid variable name")
        try:
            data = notebook_zip(path)
        except NotebookFolderError as refused:
            raise UsageError(f"%orch_upload_notebook: {refused}") from None
        with one_line_errors():
            orchestration = self._upload(data, name, args.workspace)
            self._namespace[var] = orchestration
            return OrchestrationWidget(orchestration)

    def _upload(self, data: bytes, name: str, workspace: str | None) -> Orchestration:
        client = self.client
        if workspace is None:
            return client.upload_orchestration(bytes_buffer=data, name=name, file_name=f"{name}.zip")
        current = client.get_current_workspace()
        client.set_current_workspace(self._find_workspace(workspace, create=False))
        try:
            return client.upload_orchestration(bytes_buffer=data, name=name, file_name=f"{name}.zip")
        finally:
            client.set_current_workspace(current)

    @no_var_expand
    @line_magic
    def orch(self, line: str) -> Any:
        """%orch COMMAND ...: orchestrations, tasks, runs, logs, pipelines; `%orch help`."""
        args = self._parser.parse(line)
        with one_line_errors():
            return self._commands[args.command or "help"](args)

    def _help(self, args: argparse.Namespace) -> None:
        topic = getattr(args, "topic", None)
        if topic is None:
            print(self._parser.format_help())
        elif topic in self._subparsers:
            print(self._subparsers[topic].format_help())
        else:
            raise UsageError(f"%orch help: no command {topic!r}; one of {', '.join(self._commands)}")

    def _list(self, args: argparse.Namespace) -> Any:
        return self.client.list_orchestrations()

    def _status(self, args: argparse.Namespace) -> OrchestrationWidget | TaskWidget:
        orchestration = self._lookup_orchestration(args.ref)
        if orchestration is not None:
            return OrchestrationWidget(orchestration)
        return TaskWidget(self._find_task(args.ref))

    def _run(self, args: argparse.Namespace) -> TaskWidget:
        orchestration = self._find_orchestration(args.orch)
        name = args.name or orchestration.name() or "task"
        json_args = self._json_args(args)
        chain = self._follow_ups(args)
        if args.command == "schedule":
            task = orchestration.run_scheduled(name, args.schedule, json_args, timeout=args.timeout, tz=args.tz,
                                               end_date=args.end_date, max_runs=args.max_runs,
                                               max_retries=args.retries, retry_delay=args.retry_delay, **chain)
        else:
            task = orchestration.run_once(name, json_args, timeout=args.timeout, max_retries=args.retries,
                                          retry_delay=args.retry_delay, **chain)
        return TaskWidget(task)

    def _dry_run(self, args: argparse.Namespace) -> DryRun:
        """Needs no server: the lines are printed as they come, the answer sums it up."""
        from ..client.dryrun import dry_run  # loads the engine's modules: only for a dry run
        from ..engine.errors import EngineError

        try:
            return dry_run(args.path, self._json_args(args))
        except (EngineError, OSError, RuntimeError) as e:
            raise UsageError(f"%orch dryrun: {e}") from None

    def _chain(self, args: argparse.Namespace) -> Task:
        changes = self._follow_ups(args)
        if not changes:
            raise UsageError("%orch chain: give --on-success and/or --on-failure (an orchestration, or none)")
        return self._find_task(args.task).update_chain(**changes)

    def _follow_ups(self, args: argparse.Namespace) -> dict[str, dict[str, Any] | None]:
        """The follow-ups given (`none`: none), as the orchestrations' run-once bodies."""
        chain: dict[str, dict[str, Any] | None] = {}
        for key in CHAIN_KEYS:
            ref = getattr(args, key)
            if ref is not None:
                orchestration = None if ref == "none" else self._find_orchestration(ref)
                chain[key] = None if orchestration is None else orchestration.follow_up(orchestration.name())
        return chain

    def _pause(self, args: argparse.Namespace) -> Task:
        return self._find_task(args.task).pause()

    def _resume(self, args: argparse.Namespace) -> Task:
        return self._find_task(args.task).resume()

    def _reschedule(self, args: argparse.Namespace) -> Task:
        given = {"schedule": args.cron, "tz": args.tz, "end_date": args.end_date, "max_runs": args.max_runs,
                 "timeout": args.timeout, "json_args": self._json_args(args) if args.args is not None else None}
        changes = {k: v for k, v in given.items() if v is not None}
        if not changes:
            raise UsageError("%orch reschedule: give what changes (--cron, --tz, --args, --timeout, --end-date,"
                             " --max-runs)")
        return self._find_task(args.task).update_schedule(**changes)

    def _run_now(self, args: argparse.Namespace) -> TaskRun:
        json_args = self._json_args(args) if args.args is not None else None
        return self._find_task(args.task).run_now(json_args, args.timeout)

    def _rerun(self, args: argparse.Namespace) -> TaskRun:
        if not _is_uuid(args.run):
            raise UsageError(f"%orch rerun: {args.run!r} is not a run id (see %orch runs TASK)")
        return TaskRun(self.client, {"run_id": args.run}).rerun()

    def _fires(self, args: argparse.Namespace) -> FireTimes:
        task = None if " " in args.ref or args.ref.startswith("@") else self._lookup_task(args.ref)
        if task is not None:
            return FireTimes(task.next_fires(args.count), task.tz())
        return FireTimes(self.client.next_fires(args.ref, args.tz, args.count), args.tz or "UTC")

    def _tasks(self, args: argparse.Namespace) -> Any:
        return self.client.list_tasks(killed=args.all)

    def _kill(self, args: argparse.Namespace) -> Task:
        return self._find_task(args.task).kill()

    def _runs(self, args: argparse.Namespace) -> Any:
        return self._find_task(args.task).last_runs(limit=args.limit)

    def _logs(self, args: argparse.Namespace) -> Any:
        return self._on_run(args, lambda run: run.logs(limit=args.lines))

    def _artifacts(self, args: argparse.Namespace) -> Any:
        return self._on_run(args, TaskRun.artifacts)

    def _on_run(self, args: argparse.Namespace, read: Callable[[TaskRun], Any]) -> Any:
        """What `read` finds of the run `args.ref` names, or of the newest run of the task it names."""
        task = self._lookup_task(args.ref)
        if task is None:
            if not _is_uuid(args.ref):
                raise UsageError(f"%orch {args.command}: no task or run {args.ref!r}")
            try:
                return read(TaskRun(self.client, {"run_id": args.ref}))
            except ApiNotFound:
                raise UsageError(f"%orch {args.command}: no task or run {args.ref!r}") from None
        runs = task.last_runs(limit=1)
        if not runs:
            raise UsageError(f"%orch {args.command}: task {args.ref!r} has no runs yet")
        return read(runs[0])

    def _pipelines(self, args: argparse.Namespace) -> Any:
        return self.client.list_pipelines()

    def _plogs(self, args: argparse.Namespace) -> Any:
        if args.last is not None and (args.start or args.end):
            raise UsageError("%orch plogs: give --last or --start/--end, not both")
        if (args.start is None) != (args.end is None):
            raise UsageError("%orch plogs: --start and --end go together")
        start, end = args.start, args.end
        if args.last is not None:
            end = datetime.now().astimezone()
            start = end - args.last
        pipeline = next((p for p in self.client.list_pipelines() if str(p.id()) == args.pipeline), None)
        pipeline = pipeline or self.client.get_pipeline(args.pipeline)
        return pipeline.logs(limit=args.limit, start_datetime=start, end_datetime=end)

    def _connections(self, args: argparse.Namespace) -> Any:
        return self.client.list_connections()

    def _workspace(self, args: argparse.Namespace) -> CurrentWorkspace:
        if args.name is None:
            return CurrentWorkspace(self.client.get_current_workspace())
        # Its own display announces the workspace: the client need not announce it as well.
        workspace = self._find_workspace(args.name, args.create)
        return CurrentWorkspace(self.client.set_current_workspace(workspace, announce=False))

    # -- names or ids ---------------------------------------------------------------------------
    def _json_args(self, args: argparse.Namespace) -> dict[str, Any]:
        """`--args` as a JSON object, or the name of a dict in the user's namespace."""
        text, where = args.args, f"%orch {args.command}: --args"
        value = self._namespace.get(text) if text.isidentifier() else None
        if value is None:
            try:
                value = json.loads(text)
            except ValueError:
                raise UsageError(f"{where}: neither JSON nor the name of a dict: {text}") from None
        if not isinstance(value, dict):
            raise UsageError(f"{where}: must be a JSON object (a dict), not {type(value).__name__}")
        return value

    def _find_workspace(self, ref: str, create: bool) -> Workspace:
        """A workspace by id or name; made (by name) when `create`."""
        workspace = next((ws for ws in self.client.list_workspaces() if str(ws.id()) == ref), None)
        workspace = workspace or self.client.get_workspace(ref, create_if_not_exist=create)
        if workspace is None:
            raise UsageError(f"no workspace {ref!r} (add --create to make it)")
        return workspace

    def _lookup_orchestration(self, ref: str) -> Orchestration | None:
        if _is_uuid(ref):
            try:
                return self.client.get_orchestration_by_id(ref)
            except ApiNotFound:
                pass
        return _newest_named(self.client.list_orchestrations(), ref)

    def _lookup_task(self, ref: str) -> Task | None:
        if _is_uuid(ref):
            try:
                return self.client.get_task_by_id(ref)
            except ApiNotFound:
                pass
        return _newest_named(self.client.list_tasks(killed=True), ref)

    def _find_orchestration(self, ref: str) -> Orchestration:
        return _required(self._lookup_orchestration(ref), "orchestration", ref)

    def _find_task(self, ref: str) -> Task:
        return _required(self._lookup_task(ref), "task", ref)


def _newest_named(items: list[Any], name: str) -> Any:
    """The newest of `items` called `name` (a re-upload shadows the older ones), or None."""
    named = [item for item in items if item.name() == name]
    return max(named, key=lambda item: item.created_at(), default=None)


def _required(found: Any, what: str, ref: str) -> Any:
    if found is None:
        raise UsageError(f"no {what} with the id or name {ref!r} in the current workspace")
    return found
