/**
 * What the sidebar shows, kept live: the push channel's events patch rows at once and
 * schedule a debounced reload of the lists they touch; a `Poll` refreshes connections (they
 * publish no events) and everything while the channel is down, and stands by while the
 * sidebar or the page is hidden.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import * as api from './api';
import { EventChannel, IOrchEvent, ISubscription, stateEvent } from './events';
import { exitWords, shortId, statusWords } from './format';
import { Slice } from './slice';
import { PENDING_KILL, RUN_FAILED, TASK_TERMINAL } from './constants';

const DEBOUNCE_MS = 250;
export const RUN_PAGE = 20;
const FAILED_RUN = new Set(RUN_FAILED);
export const FINISHED_TASK = new Set([...TASK_TERMINAL, PENDING_KILL]);

type Part = 'workspaces' | 'orchestrations' | 'tasks' | 'runs' | 'pipelines' | 'connections';
const ALL_PARTS: Part[] = ['workspaces', 'orchestrations', 'tasks', 'runs', 'pipelines', 'connections'];

export interface IModelOptions {
  channel: EventChannel;
  /**
   * jupyter_server's event stream (`serviceManager.events.stream`): where state changes are
   * read when given; the channel then only says whether the server is reachable and when to
   * re-read. Without it, state changes come through the channel.
   */
  stateEvents?: ISignal<unknown, { schema_id: string; [key: string]: unknown }>;
  /** A run failed (the model has looked up its task's name and workspace). */
  onRunFailed: (failure: { task: api.ITask | null; event: IOrchEvent; where: string | undefined }) => void;
  onOrchestrationFailed: (orch: api.IOrchestration | undefined, event: IOrchEvent) => void;
}

export class OrchModel {
  constructor(options: IModelOptions) {
    this.channel = options.channel;
    this._options = options;
    const fromStream = options.stateEvents !== undefined;
    options.stateEvents?.connect((_, emission) => {
      const event = stateEvent(emission);
      if (event && this._active) {
        this._onEvent(event);
      }
    });
    this.channel.received.connect((_, event) => {
      if (!fromStream || event.kind === 'resync') {
        this._onEvent(event);
      }
    });
    this._interest = fromStream ? { kinds: ['resync'] } : { kinds: ['orchestration', 'task', 'run', 'pipeline'] };
    this.channel.connectionChanged.connect((_, up) => {
      this._liveChanged.emit(up);
      if (up && this._active) {
        this.refresh(); // catch up on what happened while disconnected
      }
    });
    this._poll = new Poll({
      factory: () => this._pollTick(),
      frequency: { interval: 10_000, backoff: true, max: 60_000 },
      standby: () => !this._active || 'when-hidden',
      name: 'jupyter-orch:sidebar'
    });
  }

  readonly channel: EventChannel;
  readonly workspaces = new Slice<api.IWorkspace>(w => String(w.id));
  readonly orchestrations = new Slice<api.IOrchestration>(o => o.id);
  readonly tasks = new Slice<api.ITask>(t => t.id);
  readonly runs = new Slice<api.IRun>(r => r.run_id);
  readonly pipelines = new Slice<api.IPipeline>(p => String(p.id));
  readonly connections = new Slice<api.IConnection>(c => c.id);

  /** The workspace on show, `all`, or null before there is one. */
  get scope(): api.Scope | null {
    return this._scope;
  }

  get scopeChanged(): ISignal<this, api.Scope | null> {
    return this._scopeChanged;
  }

  get selectedTask(): string | null {
    return this._selectedTask;
  }

  get selectionChanged(): ISignal<this, string | null> {
    return this._selectionChanged;
  }

  get liveChanged(): ISignal<this, boolean> {
    return this._liveChanged;
  }

  get runLimit(): number {
    return this._runLimit;
  }

  /** The sidebar is on show: hold the channel, load what is stale. */
  set active(value: boolean) {
    if (value === this._active) {
      return;
    }
    this._active = value;
    if (value) {
      // The sidebar shows states, never log lines or inference batches.
      this.channel.acquire(this, this._interest);
      this.refresh();
    } else {
      this.channel.release(this);
    }
  }

  get active(): boolean {
    return this._active;
  }

  /** A workspace by id, or `all`; null falls back on the first workspace. */
  setScope(scope: api.Scope | null): void {
    if (scope === this._scope) {
      return;
    }
    this._scope = scope;
    this._selectTaskQuietly(null);
    for (const slice of [this.orchestrations, this.tasks, this.runs, this.pipelines, this.connections]) {
      slice.reset();
    }
    this._scopeChanged.emit(scope);
    this._schedule('orchestrations', 'tasks', 'pipelines', 'connections');
  }

  selectTask(id: string | null): void {
    if (this._selectTaskQuietly(id)) {
      this.runs.reset();
      this._schedule('runs');
    }
  }

  loadMoreRuns(): void {
    this._runLimit += RUN_PAGE;
    this._schedule('runs');
  }

  refresh(): void {
    this._schedule(...ALL_PARTS);
  }

  refreshPart(part: Part): void {
    this._schedule(part);
  }

  workspaceName(id: number | null | undefined): string {
    const ws = this.workspaces.items.find(w => w.id === id);
    return ws ? ws.name : id === null || id === undefined ? '' : `workspace ${id}`;
  }

  orchestrationName(id: string): string | null {
    const o = this.orchestrations.get(id);
    return o ? o.name || o.file_name || null : null;
  }

  /** A task's name; unnamed tasks by their orchestration's. */
  taskTitle(task: api.ITask): string {
    return task.name || this.orchestrationName(task.orch_id) || `task ${shortId(task.id)}`;
  }

  dispose(): void {
    this._poll.dispose();
    this.channel.release(this);
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
    }
    Signal.clearData(this);
  }

  // ---- loading --------------------------------------------------------------------------------

  private _selectTaskQuietly(id: string | null): boolean {
    if (this._selectedTask === id) {
      return false;
    }
    this._selectedTask = id;
    this._runLimit = RUN_PAGE;
    this._selectionChanged.emit(id);
    return true;
  }

  private _schedule(...parts: Part[]): void {
    parts.forEach(p => this._pending.add(p));
    if (this._active && this._timer === null) {
      this._timer = window.setTimeout(() => void this._flush(), DEBOUNCE_MS);
    }
  }

  private async _flush(): Promise<void> {
    this._timer = null;
    if (!this._active || this._pending.size === 0) {
      return;
    }
    if (this._busy) {
      this._timer = window.setTimeout(() => void this._flush(), DEBOUNCE_MS);
      return;
    }
    const parts = new Set(this._pending);
    this._pending.clear();
    const waiting = this._waiting.splice(0);
    this._busy = true;
    try {
      await this._load(parts);
    } finally {
      this._busy = false;
      waiting.forEach(resolve => resolve());
    }
  }

  private async _load(parts: Set<Part>): Promise<void> {
    if (parts.has('workspaces') || this._scope === null) {
      await this._guard(this.workspaces, api.listWorkspaces);
      const known = this._scope === 'all' || this.workspaces.items.some(w => w.id === this._scope);
      if (!known) {
        const first = this.workspaces.items.length ? this.workspaces.items[0].id : null;
        this.setScope(first);
        ALL_PARTS.forEach(p => parts.add(p));
      }
    }
    const scope = this._scope;
    if (scope === null) {
      return;
    }
    const jobs: Promise<void>[] = [];
    const load = <T>(part: Part, slice: Slice<T>, fn: () => Promise<T[]>) => {
      if (parts.has(part)) {
        jobs.push(this._guard(slice, fn, () => this._scope === scope));
      }
    };
    load('orchestrations', this.orchestrations, () => api.listOrchestrations(scope));
    load('tasks', this.tasks, () => api.listTasks(scope));
    load('pipelines', this.pipelines, () => api.listPipelines(scope));
    load('connections', this.connections, () => api.listConnections(scope));
    const taskId = this._selectedTask;
    if (taskId) {
      load('runs', this.runs, () => api.listRuns(taskId, this._runLimit));
    }
    await Promise.all(jobs);
  }

  /** Load a slice; a failure is shown in its section instead of thrown. */
  private async _guard<T>(slice: Slice<T>, fn: () => Promise<T[]>, stillWanted = () => true): Promise<void> {
    try {
      const items = await fn();
      if (stillWanted()) {
        slice.set(items);
      }
    } catch (e) {
      if (stillWanted()) {
        slice.fail(api.messageOf(e));
      }
    }
  }

  private async _pollTick(): Promise<void> {
    if (this.channel.isConnected) {
      // Connections publish no events. Runs on show that are still under way are re-read too:
      // jupyter_server's event stream does not say what it missed while it (re)connected.
      const underway = (status: string | undefined) => status === 'pending' || status === 'running';
      const live =
        this.runs.items.some(r => underway(r.status)) ||
        this.tasks.items.some(t => (t.last_runs ?? []).some(r => underway(r.status)));
      this._schedule('connections', 'workspaces', ...(live ? (['tasks', 'runs'] as Part[]) : []));
    } else {
      this.refresh();
    }
  }

  // ---- events ---------------------------------------------------------------------------------

  private _inScope(event: IOrchEvent): boolean {
    const ws = event.workspace_id as number | undefined;
    return this._scope === 'all' || ws === undefined || ws === null || ws === this._scope;
  }

  private _onEvent(event: IOrchEvent): void {
    const status = event.status;
    switch (event.kind) {
      case 'resync':
        if (this._active) {
          this.refresh();
        }
        break;
      case 'orchestration':
        if (this._inScope(event)) {
          if (status) {
            this.orchestrations.patch(String(event.id), { status });
          }
          this._schedule('orchestrations');
        }
        if (!this.workspaces.items.some(w => w.id === event.workspace_id)) {
          this._schedule('workspaces');
        }
        if (status === 'error') {
          void this._afterReload('orchestrations').then(() =>
            this._options.onOrchestrationFailed(this.orchestrations.get(String(event.id)), event)
          );
        }
        break;
      case 'task':
        if (this._inScope(event)) {
          if (status) {
            this.tasks.patch(String(event.id), { status });
          }
          this._schedule('tasks');
        }
        break;
      case 'run': {
        const taskId = String(event.task_id ?? '');
        if (this.tasks.get(taskId) || this._scope === 'all') {
          this._schedule('tasks'); // last runs, next fire
        }
        if (taskId === this._selectedTask) {
          if (status) {
            this.runs.patch(String(event.id), { status, exit_code: event.exit_code as number | undefined });
          }
          this._schedule('runs');
        }
        if (status && FAILED_RUN.has(status)) {
          void this._reportFailure(taskId, event);
        }
        break;
      }
      case 'pipeline':
        if (status) {
          this.pipelines.patch(String(event.id), { status, deployed: status === 'Running' });
        }
        this._schedule('pipelines');
        break;
      default:
        break; // log and inference events belong to the main-area views
    }
  }

  /** Resolves after the next reload of a part (at once while nothing is on show). */
  private _afterReload(part: Part): Promise<void> {
    if (!this._active) {
      return Promise.resolve();
    }
    return new Promise(resolve => {
      this._waiting.push(resolve);
      this._schedule(part);
    });
  }

  private async _reportFailure(taskId: string, event: IOrchEvent): Promise<void> {
    let task = this.tasks.get(taskId) ?? null;
    if (!task) {
      task = await api.getTask(taskId).catch(() => null);
    }
    const ws = task?.workspace_id;
    const where = this._scope !== 'all' && ws !== undefined && ws !== this._scope ? this.workspaceName(ws) : undefined;
    this._options.onRunFailed({ task, event, where });
  }

  private _options: IModelOptions;
  private readonly _interest: ISubscription;
  private _poll: Poll;
  private _active = false;
  private _busy = false;
  private _timer: number | null = null;
  private _pending = new Set<Part>();
  private _waiting: (() => void)[] = [];
  private _scope: api.Scope | null = null;
  private _selectedTask: string | null = null;
  private _runLimit = RUN_PAGE;
  private _scopeChanged = new Signal<this, api.Scope | null>(this);
  private _selectionChanged = new Signal<this, string | null>(this);
  private _liveChanged = new Signal<this, boolean>(this);
}

/** `failed (exit code 3)`, `timed out`: how a failed run reads in a notification. */
export function failureWords(event: IOrchEvent): string {
  const exit = exitWords(event.exit_code as number | null | undefined);
  return `${statusWords(event.status)}${exit ? ` (${exit})` : ''}`;
}
