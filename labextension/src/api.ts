/**
 * Thin client for the jupyter-orch REST API (`<base_url>v1/api/<route>`).
 *
 * Every call is a POST with a JSON body (upload: multipart) sent through
 * `ServerConnection.makeRequest`, which adds the token / XSRF header.
 * Failures become `ApiError`s whose message is always a readable sentence.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IWorkspace {
  id: number;
  name: string;
  created_at?: string;
  archived?: boolean;
}

export interface IOrchestration {
  id: string;
  workspace_id: number;
  sha: string;
  name: string | null;
  file_name?: string;
  status: string;
  created_at: string;
  updated_at?: string;
  packaging_log?: string | null;
  error?: string | null;
}

export interface ILastRun {
  run_id: string;
  status: string;
  attempt?: number;
  created_at?: string;
  updated_at?: string;
}

export interface ITask {
  id: string;
  name: string | null;
  workspace_id: number;
  orch_id: string;
  run_type: string;
  schedule?: string | null;
  timeout?: number | null;
  status: string;
  input_data?: Record<string, unknown> | null;
  killed?: boolean;
  created_at: string;
  updated_at?: string;
  last_runs?: ILastRun[];
  next_run_at?: string | null;
  /** A scheduled task's IANA time zone (null: UTC), end and run cap. */
  tz?: string | null;
  end_date?: string | null;
  max_runs?: number | null;
  /** Retries of a failed or timed-out run: how many, and the first one's delay in seconds. */
  max_retries?: number | null;
  retry_delay?: number | null;
  /** Follow-ups: run-once bodies started when a run ends in success / finally fails. */
  on_success?: IFollowUp | null;
  on_failure?: IFollowUp | null;
  /** The run whose end started this task (it is another task's follow-up). */
  upstream_run_id?: string | null;
}

/** A run-once body a task's run starts as it ends (its runs get `upstream_run_id`). */
export interface IFollowUp {
  orch_id: string;
  workspace_id?: number;
  name?: string;
  json?: Record<string, unknown>;
  on_success?: IFollowUp | null;
  on_failure?: IFollowUp | null;
}

export interface IRun {
  task: string;
  run_id: string;
  status: string;
  created_at?: string;
  updated_at?: string;
  started_at?: string | null;
  ended_at?: string | null;
  exit_code?: number | null;
  /** The engine (server) that ran it, and the cluster worker it ran on (null: the engine's machine). */
  engine_id?: string | null;
  worker?: string | null;
  /** The arguments and timeout it ran with, and the run it re-runs. */
  input_data?: Record<string, unknown> | null;
  timeout?: number | null;
  rerun_of?: string | null;
  retry_of?: string | null;
  attempt?: number;
  /** The task its end started (its task's on_success / on_failure). */
  follow_up_task_id?: string | null;
}

export interface IPipeline {
  id: number;
  name: string;
  workspace_id?: number;
  status?: string;
  deployed?: boolean;
  steps?: unknown[];
  created_at?: string;
  updated_at?: string;
}

export interface IConnection {
  id: string;
  name: string;
  type: string;
  details?: unknown;
  created_at?: string;
  workspace_names?: string[];
}

export interface IInferencePage {
  records: Record<string, unknown>[];
  /** Cursor for the next page, if the server gave one. */
  cursor: string | null;
  /** `x-iteration-status`; `All` when there is nothing more. */
  status: string | null;
  /** `x-total-count`: the rows in the asked time range. */
  total: number | null;
}

/** An API failure with a message fit to show to a person. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: number
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let _settings: ServerConnection.ISettings | null = null;

/** Use the application's server settings (`app.serviceManager.serverSettings`). */
export function useServerSettings(settings: ServerConnection.ISettings): void {
  _settings = settings;
}

/** The server settings used by every call. */
export function serverSettings(): ServerConnection.ISettings {
  if (!_settings) {
    _settings = ServerConnection.makeSettings();
  }
  return _settings;
}

/** Full URL of an API route. */
export function apiUrl(route: string): string {
  return URLExt.join(serverSettings().baseUrl, 'v1/api/', route);
}

/** Turn a failed response into a readable message (never raw HTML). */
async function errorFrom(response: Response, route: string): Promise<ApiError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // ignore: fall back on the status line
  }
  let msg = '';
  try {
    const data = JSON.parse(text);
    if (data && typeof data === 'object') {
      msg = String(data.msg ?? data.message ?? data.reason ?? '');
    }
  } catch {
    // not JSON
  }
  if (!msg) {
    const isHtml = /^\s*</.test(text) || /html/i.test(response.headers.get('Content-Type') ?? '');
    if (text && !isHtml && text.length < 300) {
      msg = text.trim();
    } else if (response.status === 404) {
      msg = `The server does not know the route "${route}" (404).`;
    } else if (response.status === 401 || response.status === 403) {
      msg = `Not authorized to call "${route}" (${response.status}); try reloading the page.`;
    } else {
      msg = `"${route}" failed: ${response.status} ${response.statusText || 'error'}`.trim();
    }
  }
  return new ApiError(msg, response.status);
}

async function send(route: string, init: RequestInit): Promise<Response> {
  const settings = serverSettings();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(route), init, settings);
  } catch (e) {
    throw new ApiError(`Cannot reach the jupyter-orch server (${route}): ${(e as Error).message ?? e}`, 0);
  }
  if (!response.ok) {
    throw await errorFrom(response, route);
  }
  return response;
}

/** POST a JSON body to a route, answer the parsed JSON. */
export async function request<T = unknown>(route: string, body: unknown = {}): Promise<T> {
  const response = await send(route, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  });
  const text = await response.text();
  if (!text) {
    return {} as T;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(`"${route}" answered something that is not JSON.`, response.status);
  }
}

/** Accept a bare list or `{<key>: list}`. */
function asList<T>(data: unknown, key: string): T[] {
  if (Array.isArray(data)) {
    return data as T[];
  }
  if (data && typeof data === 'object' && Array.isArray((data as any)[key])) {
    return (data as any)[key] as T[];
  }
  return [];
}

export async function listWorkspaces(): Promise<IWorkspace[]> {
  return asList<IWorkspace>(await request('workspaces/list', {}), 'workspaces');
}

/** A workspace id, or every workspace. */
export type Scope = number | 'all';

const scoped = (scope: Scope) => (scope === 'all' ? {} : { workspace_id: scope });

export async function createWorkspace(name: string): Promise<number> {
  const data = await request<{ workspace_id: number }>('workspaces/create', { workspace_name: name });
  return Number(data.workspace_id);
}

export async function listOrchestrations(scope: Scope): Promise<IOrchestration[]> {
  const data =
    scope === 'all'
      ? await request('orchestration/list_all', {})
      : await request('orchestration/list', { workspace_id: scope });
  return asList<IOrchestration>(data, 'orchestrations');
}

export interface IOrchFile {
  path: string;
  size: number;
}

/** The files of an orchestration's zip (the `orchestration/files` route of server/files.py). */
export async function listOrchestrationFiles(id: string): Promise<IOrchFile[]> {
  return asList<IOrchFile>(await request('orchestration/files', { id }), 'files');
}

/** A GET URL a link or a download can use: with the server's token, where it has one. */
function withToken(url: string): string {
  const token = serverSettings().token;
  return token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
}

/** GET URL of one file of an orchestration (or of its zip, without `path`). */
export function orchestrationFileUrl(id: string, path?: string): string {
  return withToken(
    path
      ? apiUrl(`orchestration/file/${encodeURIComponent(id)}?path=${encodeURIComponent(path)}`)
      : apiUrl(`orchestration/zip/${encodeURIComponent(id)}`)
  );
}

/** A file a run wrote under `outputs/`, kept after it (server/artifacts.py). */
export interface IArtifact {
  path: string;
  size: number;
  url: string;
}

/** A page of a run's artifacts by path, and the cursor to the next page (null: none). */
export async function listRunArtifacts(
  runId: string,
  cursor: string | null = null
): Promise<{ artifacts: IArtifact[]; cursor: string | null }> {
  const response = await send('task/list_run_artifacts', {
    method: 'POST',
    body: JSON.stringify(cursor ? { id: runId, cursor } : { id: runId }),
    headers: { 'Content-Type': 'application/json' }
  });
  const data = await response.json().catch(() => ({}));
  return { artifacts: asList<IArtifact>(data, 'artifacts'), cursor: response.headers.get('x-iteration-cursor') };
}

/** The text of a run's artifact. */
export async function readArtifact(runId: string, path: string): Promise<string> {
  const response = await send(`task/artifact/${encodeURIComponent(runId)}?path=${encodeURIComponent(path)}`, {
    method: 'GET'
  });
  return response.text();
}

/** GET URL of a run's artifact (`download`: as an attachment). */
export function artifactUrl(runId: string, path: string, download = false): string {
  const query = `path=${encodeURIComponent(path)}${download ? '&download=1' : ''}`;
  return withToken(apiUrl(`task/artifact/${encodeURIComponent(runId)}?${query}`));
}

export async function readOrchestrationFile(id: string, path: string): Promise<string> {
  const response = await send(`orchestration/file/${encodeURIComponent(id)}?path=${encodeURIComponent(path)}`, {
    method: 'GET'
  });
  return response.text();
}

/** Upload a zip as a new orchestration; answers its id. */
export async function uploadOrchestration(
  file: Blob,
  fileName: string,
  workspaceId: number,
  name: string
): Promise<string> {
  const form = new FormData();
  form.append('file', file, fileName);
  form.append('metadata', JSON.stringify({ workspace_id: workspaceId, name }));
  // No Content-Type header: the browser sets multipart/form-data with its boundary.
  const response = await send('orchestration/upload', { method: 'POST', body: form });
  const data = await response.json().catch(() => ({}));
  return String((data as any).id ?? '');
}

/** Upload a notebook of the server's files with its folder (its contents path); answers the id. */
export async function uploadNotebook(path: string, workspaceId: number): Promise<string> {
  const data = await request<{ id: string }>('orchestration/upload_notebook', { path, workspace_id: workspaceId });
  return String(data.id ?? '');
}

/** The orchestration once its packaging has ended (or after `timeout` seconds, as it is). */
export async function waitForOrchestration(id: string, timeout = 120): Promise<IOrchestration> {
  return request<IOrchestration>('orchestration/get_by_id', {
    id,
    wait_for: 'terminal',
    wait_timeout: timeout
  });
}

export async function listTasks(scope: Scope): Promise<ITask[]> {
  return asList<ITask>(await request('task/list', scoped(scope)), 'tasks');
}

export async function getTask(id: string): Promise<ITask> {
  return request<ITask>('task/get_by_id', { id });
}

export interface INewTask {
  workspaceId: number;
  orchId: string;
  name?: string;
  json?: unknown;
  timeout?: number | null;
  /** once, on a cron schedule, or continuously. */
  mode: 'once' | 'schedule' | 'continuous';
  schedule?: string;
  controls?: IScheduleControls;
  retries?: { max_retries: number | null; retry_delay: number | null };
  /** Follow-ups started when one of its runs ends in success / finally fails (null: none). */
  chain?: IChain;
}

/** A schedule's time zone, end (ISO; without offset: in that zone) and run cap, as the API takes them. */
export interface IScheduleControls {
  tz?: string | null;
  end_date?: string | null;
  max_runs?: number | null;
}

const TASK_ROUTES = { once: 'task/run_once', schedule: 'task/run_scheduled', continuous: 'task/run_continuously' };

/** Start a task; answers its id. */
export async function createTask(task: INewTask): Promise<string> {
  const body: Record<string, unknown> = { workspace_id: task.workspaceId, orch_id: task.orchId, json: task.json ?? {} };
  if (task.name) {
    body.name = task.name;
  }
  if (task.timeout && task.mode !== 'continuous') {
    body.timeout = task.timeout;
  }
  if (task.mode === 'schedule') {
    body.schedule = task.schedule;
    Object.assign(body, task.controls ?? {});
  }
  if (task.mode !== 'continuous') {
    Object.assign(body, task.retries ?? {});
  }
  for (const [key, followUp] of Object.entries(task.chain ?? {})) {
    if (followUp) {
      body[key] = followUp;
    }
  }
  const data = await request<{ id: string }>(TASK_ROUTES[task.mode], body);
  return String(data.id ?? '');
}

export async function killTask(id: string): Promise<ITask> {
  return request<ITask>('task/kill', { id });
}

/** Pause a scheduled task (pause: true) or resume it from now on. */
export async function pauseTask(id: string, pause: boolean): Promise<ITask> {
  return request<ITask>('task/pause', { id, pause });
}

/** What an edit of a scheduled task may change. */
export interface IScheduleEdit extends IScheduleControls {
  schedule?: string;
  json?: unknown;
  timeout?: number | null;
}

/** Edit a scheduled task; only the fields given change (null clears). */
export async function updateSchedule(id: string, changes: IScheduleEdit): Promise<ITask> {
  return request<ITask>('task/update_schedule', { id, ...changes });
}

/** A task's follow-ups as an edit sends them (null: none). */
export interface IChain {
  on_success: IFollowUp | null;
  on_failure: IFollowUp | null;
}

/** Set or clear a task's follow-ups; a chain that would loop is refused (400). */
export async function updateChain(id: string, chain: Partial<IChain>): Promise<ITask> {
  return request<ITask>('task/update_chain', { id, ...chain });
}

/** The next fires of a task (`{id}`) or of a schedule not made yet, as the server works them out. */
export async function nextFires(
  of: { id: string } | (IScheduleControls & { schedule: string }),
  count = 5
): Promise<Date[]> {
  const data = await request<{ fires?: string[] }>('task/next_fires', { ...of, count });
  return (data.fires ?? []).map(at => new Date(at));
}

/** Run a scheduled task now; `json` and `timeout` are for this run only. */
export async function runNow(id: string, json?: unknown, timeout?: number | null): Promise<IRun> {
  return request<IRun>('task/run_now', { id, json, ...(timeout ? { timeout } : {}) });
}

/** Run a finished run again with the arguments and timeout it ran with. */
export async function rerun(runId: string): Promise<IRun> {
  return request<IRun>('task/rerun', { id: runId });
}

export async function listRuns(taskId: string, limit = 20): Promise<IRun[]> {
  return asList<IRun>(await request('task/list_task_runs', { task_id: taskId, limit }), 'runs');
}

export async function getRunLogs(runId: string, lines = 2000): Promise<string[]> {
  const data = await request<{ logs?: string[] }>('task/get_logs_for_run', { id: runId, lines });
  return Array.isArray(data.logs) ? data.logs : asList<string>(data, 'logs');
}

export async function listPipelines(scope: Scope): Promise<IPipeline[]> {
  return asList<IPipeline>(await request('pipelines/list', scoped(scope)), 'pipelines');
}

export async function deployPipeline(name: string): Promise<IPipeline> {
  return request<IPipeline>('pipelines/deploy', { pipeline_id: name });
}

export async function undeployPipeline(name: string): Promise<IPipeline> {
  return request<IPipeline>('pipelines/undeploy', { pipeline_id: name });
}

export async function listConnections(scope: Scope): Promise<IConnection[]> {
  return asList<IConnection>(await request('connections/list', scoped(scope)), 'connections');
}

/** Create a connection (and add it to a workspace); answers its id. */
export async function createConnection(
  name: string,
  type: string,
  details: Record<string, unknown>,
  workspaceId: number | null
): Promise<string> {
  const { id } = await request<{ id: string }>('connections/create', { name, type, details });
  if (workspaceId !== null) {
    await request('connections/add_to_workspace', { workspace_id: workspaceId, connection_id: id });
  }
  return String(id);
}

export async function deleteConnection(name: string): Promise<void> {
  await request('connections/delete', { name });
}

export interface IInferenceQuery {
  pipeline_name: string;
  workspace_id: number;
  start_time?: string;
  end_time?: string;
  order?: 'asc' | 'desc';
  page_size?: number;
  cursor?: string;
}

/** Records from pandas-records JSON, or tolerate pandas' column-oriented form. */
function toRecords(data: unknown): Record<string, unknown>[] {
  if (Array.isArray(data)) {
    return data as Record<string, unknown>[];
  }
  if (data && typeof data === 'object') {
    const obj = data as Record<string, any>;
    if (Array.isArray(obj.records)) {
      return obj.records;
    }
    // {"col": {"0": v, "1": v}} (pandas orient="columns")
    const cols = Object.keys(obj);
    if (cols.length && cols.every(c => obj[c] && typeof obj[c] === 'object' && !Array.isArray(obj[c]))) {
      const index = Object.keys(obj[cols[0]]);
      return index.map(i => {
        const row: Record<string, unknown> = {};
        for (const c of cols) {
          row[c] = obj[c][i];
        }
        return row;
      });
    }
  }
  return [];
}

export async function getInferenceLogs(query: IInferenceQuery): Promise<IInferencePage> {
  const body: Record<string, unknown> = { count: true };
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== '') {
      body[k] = v;
    }
  }
  const response = await send('pipelines/get_logs', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', Accept: 'application/json; format=pandas-records' }
  });
  const text = await response.text();
  let data: unknown = [];
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new ApiError('"pipelines/get_logs" answered something that is not JSON.', response.status);
    }
  }
  return {
    records: toRecords(data),
    cursor: response.headers.get('x-iteration-cursor') || null,
    status: response.headers.get('x-iteration-status') || null,
    total: response.headers.has('x-total-count') ? Number(response.headers.get('x-total-count')) : null
  };
}

/** Best readable message from anything thrown. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) {
    return e.message;
  }
  return String(e);
}
