/**
 * The left sidebar: workspace picker, orchestrations, tasks, runs of the
 * selected task, pipelines and connections, kept live by the push channel.
 */
import { Notification } from '@jupyterlab/apputils';
import * as api from './api';
import { cronToWords } from './cron';
import { durationBetween, h, relativeTime, shortId, statusBadge, timeEl } from './dom';
import { EventChannel, IOrchEvent } from './events';
import { VisibleWorkWidget } from './visible';

export const SIDEBAR_ID = 'jupyter-orch-sidebar';

const WORKSPACE_KEY = 'jupyter-orch:workspace-id';
const DEBOUNCE_MS = 250;
/** Task states where Kill no longer means anything. */
const FINISHED_TASK = new Set(['killed', 'pending_kill', 'success', 'failed', 'failure', 'timed_out']);
const FAILED_RUN = new Set(['failure', 'failed', 'timed_out']);

type Part = 'workspaces' | 'orchestrations' | 'tasks' | 'runs' | 'pipelines' | 'connections';
const ALL_PARTS: Part[] = ['workspaces', 'orchestrations', 'tasks', 'runs', 'pipelines', 'connections'];

export interface IRunRef {
  runId: string;
  taskId: string;
  title: string;
}

export interface ISidebarOptions {
  channel: EventChannel;
  openRunLog: (run: IRunRef) => void;
  openInferenceLog: (pipelineName: string, workspaceId: number) => void;
}

interface ISection {
  root: HTMLDetailsElement;
  count: HTMLElement;
  error: HTMLElement;
  list: HTMLElement;
}

export class OrchSidebar extends VisibleWorkWidget {
  constructor(options: ISidebarOptions) {
    super(options.channel);
    this.id = SIDEBAR_ID;
    this.addClass('jp-orch-sidebar');
    this._openRunLog = options.openRunLog;
    this._openInferenceLog = options.openInferenceLog;
    const stored = window.localStorage?.getItem(WORKSPACE_KEY);
    this._workspaceId = stored ? Number(stored) : null;
    this._build();
    this.channel.connectionChanged.connect(this._onConnection, this);
  }

  get workspaceId(): number | null {
    return this._workspaceId;
  }

  /** Reload everything now (the Refresh button). */
  refresh(): void {
    this._schedule(...ALL_PARTS);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.channel.connectionChanged.disconnect(this._onConnection, this);
    super.dispose();
  }

  // ---- visibility: work only while shown ----------------------------------

  protected onStartWork(): void {
    this._updateLive();
    this.refresh();
  }

  protected onStopWork(): void {
    this._clearPoll();
    this._deferred.splice(0).forEach(fn => fn());
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  // ---- refresh scheduling ---------------------------------------------------

  private _schedule(...parts: Part[]): void {
    parts.forEach(p => this._pending.add(p));
    if (this.isActive && this._timer === null) {
      this._timer = window.setTimeout(() => void this._flush(), DEBOUNCE_MS);
    }
  }

  private async _flush(): Promise<void> {
    this._timer = null;
    if (!this.isActive || this._pending.size === 0) {
      return;
    }
    if (this._busy) {
      this._timer = window.setTimeout(() => void this._flush(), DEBOUNCE_MS);
      return;
    }
    const parts = new Set(this._pending);
    this._pending.clear();
    const deferred = this._deferred.splice(0);
    this._busy = true;
    try {
      await this._load(parts);
    } finally {
      this._busy = false;
      deferred.forEach(fn => fn());
    }
  }

  /** Run `fn` after the next load, so it sees fresh lists (at once while hidden). */
  private _afterLoad(fn: () => void, part: Part): void {
    if (this.isActive) {
      this._deferred.push(fn);
      this._schedule(part);
    } else {
      fn();
    }
  }

  private async _load(parts: Set<Part>): Promise<void> {
    if (parts.has('workspaces') || this._workspaceId === null) {
      await this._guard('workspaces', async () => {
        this._workspaces = await api.listWorkspaces();
        const known = this._workspaces.some(w => w.id === this._workspaceId);
        if (!known) {
          const first = this._workspaces.length ? this._workspaces[0].id : null;
          if (first !== this._workspaceId) {
            this._setWorkspace(first, false);
            ALL_PARTS.forEach(p => parts.add(p));
          }
        }
        this._renderWorkspaces();
      });
    }
    const ws = this._workspaceId;
    const jobs: Promise<void>[] = [];
    if (ws === null) {
      this._orchestrations = [];
      this._tasks = [];
      this._runs = [];
      this._pipelines = [];
      this._renderAll();
    } else {
      if (parts.has('orchestrations')) {
        jobs.push(
          this._guard('orchestrations', async () => {
            this._orchestrations = await api.listOrchestrations(ws);
            this._renderOrchestrations();
            this._renderTasks(); // task names fall back on orchestration names
          })
        );
      }
      if (parts.has('tasks')) {
        jobs.push(
          this._guard('tasks', async () => {
            this._tasks = await api.listTasks(ws);
            this._renderTasks();
            this._renderRuns();
          })
        );
      }
      if (parts.has('runs')) {
        const taskId = this._selectedTask;
        jobs.push(
          this._guard('runs', async () => {
            this._runs = taskId ? await api.listRuns(taskId, 20) : [];
            if (taskId === this._selectedTask) {
              this._renderRuns();
            }
          })
        );
      }
      if (parts.has('pipelines')) {
        jobs.push(
          this._guard('pipelines', async () => {
            this._pipelines = await api.listPipelines(ws);
            this._renderPipelines();
          })
        );
      }
    }
    if (parts.has('connections')) {
      jobs.push(
        this._guard('connections', async () => {
          this._connections = await api.listConnections(ws ?? undefined);
          this._renderConnections();
        })
      );
    }
    await Promise.all(jobs);
  }

  /** Run a loader; show its failure in its section instead of throwing. */
  private async _guard(part: Part, fn: () => Promise<void>): Promise<void> {
    const section = part === 'workspaces' ? null : this._sections[part];
    const errorEl = section ? section.error : this._wsError;
    try {
      await fn();
      errorEl.textContent = '';
      errorEl.hidden = true;
    } catch (e) {
      errorEl.textContent = api.messageOf(e);
      errorEl.hidden = false;
      // Keep stale rows (better than nothing), but not an "empty" placeholder that would lie.
      section?.list.querySelectorAll('.jp-orch-empty').forEach(el => el.remove());
    }
  }

  // ---- push channel -----------------------------------------------------------

  private _onConnection(_: EventChannel, connected: boolean): void {
    this._updateLive();
    if (!this.isActive) {
      return;
    }
    if (connected) {
      this._clearPoll();
      this.refresh(); // catch up on whatever happened while disconnected
    } else {
      this._startPoll();
    }
  }

  private _updateLive(): void {
    const live = this.channel.isConnected;
    this._liveEl.dataset.live = String(live);
    this._liveEl.title = live ? 'Live: receiving updates' : 'Not connected to the event channel; refreshing now and then';
  }

  /** Fallback while the socket is down: refresh with a backing-off period. */
  private _startPoll(): void {
    if (this._pollTimer !== null) {
      return;
    }
    const tick = () => {
      this._pollDelay = Math.min(30000, this._pollDelay * 2);
      this._schedule('orchestrations', 'tasks', 'runs');
      this._pollTimer = window.setTimeout(tick, this._pollDelay);
    };
    this._pollDelay = 1000;
    this._pollTimer = window.setTimeout(tick, this._pollDelay);
  }

  private _clearPoll(): void {
    if (this._pollTimer !== null) {
      window.clearTimeout(this._pollTimer);
      this._pollTimer = null;
    }
  }

  protected onChannelEvent(event: IOrchEvent): void {
    const wsId = event.workspace_id as number | undefined;
    const mine = wsId === undefined || wsId === null || wsId === this._workspaceId;
    switch (event.kind) {
      case 'orchestration':
        if (mine) {
          this._schedule('orchestrations');
        } else if (!this._workspaces.some(w => w.id === wsId)) {
          this._schedule('workspaces');
        }
        if (event.status === 'error') {
          this._afterLoad(() => this._notifyOrchestrationError(event), 'orchestrations');
        }
        break;
      case 'task':
        if (mine) {
          this._schedule('tasks');
          if (event.id === this._selectedTask) {
            this._schedule('runs');
          }
        }
        break;
      case 'run':
        if (mine) {
          this._schedule('tasks');
          if (event.task_id === this._selectedTask) {
            this._schedule('runs');
          }
        }
        if (event.status && FAILED_RUN.has(event.status)) {
          this._afterLoad(() => this._notifyRunFailed(event), 'tasks');
        }
        break;
      case 'pipeline':
        this._schedule('pipelines'); // deploy status changes (Starting -> Running, ...)
        break;
      default:
        break; // log and inference events belong to the main-area views
    }
  }

  private _notifyOrchestrationError(event: IOrchEvent): void {
    const key = `orchestration:${event.id}:error`;
    if (this._notified.has(key)) {
      return;
    }
    this._notified.add(key);
    const orch = this._orchestrations.find(o => o.id === event.id);
    const name = orch?.name || (event.name as string) || shortId(event.id);
    const why = orch?.error || (event.error as string) || 'packaging failed';
    Notification.error(`Orchestration "${name}" failed: ${why}`, { autoClose: false });
  }

  private _notifyRunFailed(event: IOrchEvent): void {
    const key = `run:${event.id}:${event.status}`;
    if (this._notified.has(key)) {
      return;
    }
    this._notified.add(key);
    const taskId = String(event.task_id ?? '');
    const task = this._tasks.find(t => t.id === taskId);
    const title = task ? this._taskTitle(task) : shortId(taskId) || 'a task';
    const what = event.status === 'timed_out' ? 'timed out' : 'failed';
    const exit = event.exit_code !== undefined && event.exit_code !== null ? ` (exit code ${event.exit_code})` : '';
    Notification.error(`Run of "${title}" ${what}${exit}`, {
      autoClose: false,
      actions: [
        {
          label: 'Show log',
          callback: () => this._openRunLog({ runId: String(event.id), taskId, title })
        }
      ]
    });
  }

  // ---- actions ------------------------------------------------------------------

  private async _act(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      Notification.error(`${what}: ${api.messageOf(e)}`, { autoClose: 8000 });
    }
  }

  private _setWorkspace(id: number | null, reload = true): void {
    this._workspaceId = id;
    this._selectedTask = null;
    this._runs = [];
    if (id === null) {
      window.localStorage?.removeItem(WORKSPACE_KEY);
    } else {
      window.localStorage?.setItem(WORKSPACE_KEY, String(id));
    }
    if (reload) {
      this._orchestrations = [];
      this._tasks = [];
      this._pipelines = [];
      this._renderAll();
      this._schedule('orchestrations', 'tasks', 'runs', 'pipelines', 'connections');
    }
  }

  private async _upload(files: File[]): Promise<void> {
    const ws = this._workspaceId;
    if (ws === null) {
      Notification.error('Pick (or create) a workspace before uploading an orchestration.', { autoClose: 8000 });
      return;
    }
    for (const file of files) {
      if (!/\.zip$/i.test(file.name)) {
        Notification.error(`"${file.name}" is not a .zip file; an orchestration is uploaded as a zip.`, { autoClose: 8000 });
        continue;
      }
      const name = file.name.replace(/\.zip$/i, '');
      this._uploadStatus.textContent = `Uploading ${file.name}…`;
      await this._act(`Uploading ${file.name} failed`, async () => {
        await api.uploadOrchestration(file, file.name, ws, name);
        Notification.info(`Uploaded "${name}"; packaging…`, { autoClose: 3000 });
      });
      this._uploadStatus.textContent = '';
    }
    this._schedule('orchestrations');
  }

  private _runOrchestration(orch: api.IOrchestration): void {
    void this._act(`Running "${orch.name || shortId(orch.id)}" failed`, async () => {
      const id = await api.runOnce(orch.workspace_id ?? this._workspaceId!, orch.id, {});
      this._selectTask(id);
      this._schedule('tasks');
    });
  }

  private _runTaskNow(task: api.ITask): void {
    void this._act(`Running "${this._taskTitle(task)}" failed`, async () => {
      const id = await api.runOnce(task.workspace_id ?? this._workspaceId!, task.orch_id, task.input_data ?? {});
      this._selectTask(id);
      this._schedule('tasks');
    });
  }

  private _killTask(task: api.ITask): void {
    void this._act(`Killing "${this._taskTitle(task)}" failed`, async () => {
      await api.killTask(task.id);
      this._schedule('tasks', 'runs');
    });
  }

  private _deploy(p: api.IPipeline, deploy: boolean): void {
    const verb = deploy ? 'Deploying' : 'Undeploying';
    void this._act(`${verb} "${p.name}" failed`, async () => {
      this._busyPipelines.add(p.name);
      this._renderPipelines();
      try {
        await (deploy ? api.deployPipeline(p.name) : api.undeployPipeline(p.name));
      } finally {
        this._busyPipelines.delete(p.name);
        this._schedule('pipelines');
      }
    });
  }

  private _selectTask(id: string | null): void {
    if (this._selectedTask !== id) {
      this._selectedTask = id;
      this._runs = [];
    }
    this._renderTasks();
    this._renderRuns();
    this._schedule('runs');
  }

  // ---- rendering -------------------------------------------------------------------

  private _build(): void {
    const node = this.node;
    this._select = h('select', {
      class: 'jp-orch-workspace',
      title: 'Workspace',
      'aria-label': 'Workspace',
      onchange: () => {
        const v = this._select.value;
        this._setWorkspace(v === '' ? null : Number(v));
      }
    });
    this._liveEl = h('span', { class: 'jp-orch-live', dataset: { live: 'false' } });
    this._wsError = h('div', { class: 'jp-orch-error', hidden: true });
    node.appendChild(
      h(
        'div',
        { class: 'jp-orch-header' },
        h('span', { class: 'jp-orch-title' }, 'Orchestration'),
        this._liveEl,
        h(
          'button',
          { class: 'jp-orch-button jp-orch-refresh', title: 'Refresh', dataset: { action: 'refresh' }, onclick: () => this.refresh() },
          '⟳'
        )
      )
    );
    node.appendChild(h('label', { class: 'jp-orch-workspace-row' }, h('span', {}, 'Workspace'), this._select));
    node.appendChild(this._wsError);

    // Orchestrations, with upload by picker or drag-and-drop.
    this._fileInput = h('input', {
      type: 'file',
      accept: '.zip,application/zip',
      multiple: true,
      class: 'jp-orch-file-input',
      hidden: true,
      onchange: () => {
        const files = Array.from(this._fileInput.files ?? []);
        this._fileInput.value = '';
        void this._upload(files);
      }
    });
    this._uploadStatus = h('span', { class: 'jp-orch-upload-status' });
    const upload = h(
      'button',
      {
        class: 'jp-orch-button',
        dataset: { action: 'upload' },
        title: 'Upload a .zip with main.py (or drop one on this panel)',
        onclick: (e: Event) => {
          e.preventDefault();
          this._fileInput.click();
        }
      },
      'Upload .zip'
    );
    this._sections.orchestrations = this._section('orchestrations', 'Orchestrations', [upload]);
    this._sections.orchestrations.root.insertBefore(this._fileInput, this._sections.orchestrations.error);
    this._sections.orchestrations.root.insertBefore(this._uploadStatus, this._sections.orchestrations.list);
    this._sections.tasks = this._section('tasks', 'Tasks');
    this._sections.runs = this._section('runs', 'Runs');
    this._sections.pipelines = this._section('pipelines', 'Pipelines');
    this._sections.connections = this._section('connections', 'Connections');
    this._sections.connections.root.open = false;

    node.addEventListener('dragover', (e: DragEvent) => {
      if (e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files')) {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        this.addClass('jp-mod-dropping');
      }
    });
    node.addEventListener('dragleave', (e: DragEvent) => {
      if (!node.contains(e.relatedTarget as Node | null)) {
        this.removeClass('jp-mod-dropping');
      }
    });
    node.addEventListener('drop', (e: DragEvent) => {
      this.removeClass('jp-mod-dropping');
      if (e.dataTransfer && e.dataTransfer.files.length) {
        e.preventDefault();
        e.stopPropagation();
        void this._upload(Array.from(e.dataTransfer.files));
      }
    });
    this._renderAll();
  }

  private _section(key: string, title: string, tools: HTMLElement[] = []): ISection {
    const count = h('span', { class: 'jp-orch-count' });
    const error = h('div', { class: 'jp-orch-error', hidden: true });
    const list = h('ul', { class: 'jp-orch-list' });
    const root = h(
      'details',
      { class: 'jp-orch-section', open: true, dataset: { section: key } },
      h(
        'summary',
        { class: 'jp-orch-section-header' },
        h('span', { class: 'jp-orch-section-title' }, title),
        count,
        // A click on a tool must not fold the section.
        h('span', { class: 'jp-orch-tools', onclick: (e: Event) => e.preventDefault() }, ...tools)
      ),
      error,
      list
    );
    this.node.appendChild(root);
    return { root, count, error, list };
  }

  private _fill(section: ISection, items: HTMLElement[], empty: string): void {
    section.count.textContent = items.length ? String(items.length) : '';
    section.list.replaceChildren(...(items.length ? items : [h('li', { class: 'jp-orch-empty' }, empty)]));
  }

  private _renderAll(): void {
    this._renderWorkspaces();
    this._renderOrchestrations();
    this._renderTasks();
    this._renderRuns();
    this._renderPipelines();
    this._renderConnections();
  }

  private _renderWorkspaces(): void {
    const options = this._workspaces.map(w =>
      h('option', { value: String(w.id), selected: w.id === this._workspaceId }, `${w.name} (#${w.id})`)
    );
    if (!options.length) {
      options.push(h('option', { value: '' }, 'No workspaces'));
    }
    this._select.replaceChildren(...options);
    this._select.value = this._workspaceId === null ? '' : String(this._workspaceId);
  }

  private _orchName(id: string): string | null {
    const o = this._orchestrations.find(x => x.id === id);
    return o ? o.name || o.file_name || null : null;
  }

  private _taskTitle(task: api.ITask): string {
    return task.name || this._orchName(task.orch_id) || `task ${shortId(task.id)}`;
  }

  private _renderOrchestrations(): void {
    const items = this._orchestrations.map(o => {
      const ready = o.status === 'ready';
      return h(
        'li',
        { class: 'jp-orch-item jp-orch-orchestration', dataset: { orchId: o.id, status: o.status } },
        h(
          'div',
          { class: 'jp-orch-item-main' },
          h('span', { class: 'jp-orch-name', title: o.file_name ?? '' }, o.name || o.file_name || shortId(o.id)),
          statusBadge(o.status)
        ),
        h(
          'div',
          { class: 'jp-orch-item-meta' },
          h('code', { class: 'jp-orch-sha', title: o.sha }, shortId(o.sha, 10)),
          timeEl(o.created_at)
        ),
        o.error ? h('div', { class: 'jp-orch-item-error' }, o.error) : null,
        o.packaging_log ? this._packagingLog(o) : null,
        h(
          'div',
          { class: 'jp-orch-actions' },
          h(
            'button',
            {
              class: 'jp-orch-button',
              dataset: { action: 'run' },
              disabled: !ready,
              title: ready ? 'Run once now (new task)' : 'Available once packaging is ready',
              onclick: () => this._runOrchestration(o)
            },
            'Run'
          )
        )
      );
    });
    this._fill(this._sections.orchestrations, items, 'No orchestrations yet: drop a .zip with a main.py here, or use Upload.');
  }

  /** The packaging log, folded; stays open across re-renders. */
  private _packagingLog(o: api.IOrchestration): HTMLElement {
    const details = h(
      'details',
      { class: 'jp-orch-packaging-log', open: this._openLogs.has(o.id) },
      h('summary', {}, 'Packaging log'),
      h('pre', {}, o.packaging_log ?? '')
    );
    details.addEventListener('toggle', () => {
      if (details.open) {
        this._openLogs.add(o.id);
      } else {
        this._openLogs.delete(o.id);
      }
    });
    return details;
  }

  private _renderTasks(): void {
    const items = this._tasks.map(t => {
      const last = t.last_runs && t.last_runs.length ? t.last_runs[0] : null;
      const finished = t.killed || FINISHED_TASK.has(t.status);
      const schedule = t.schedule ? cronToWords(t.schedule) : '';
      return h(
        'li',
        {
          class: `jp-orch-item jp-orch-task${t.id === this._selectedTask ? ' jp-mod-selected' : ''}`,
          dataset: { taskId: t.id, status: t.status },
          'aria-selected': String(t.id === this._selectedTask),
          title: 'Show the runs of this task',
          onclick: (e: Event) => {
            if (!(e.target as HTMLElement).closest('button')) {
              this._selectTask(t.id);
            }
          }
        },
        h('div', { class: 'jp-orch-item-main' }, h('span', { class: 'jp-orch-name' }, this._taskTitle(t)), statusBadge(t.status)),
        h(
          'div',
          { class: 'jp-orch-item-meta' },
          h('span', { class: 'jp-orch-run-type' }, t.run_type),
          schedule ? h('span', { class: 'jp-orch-schedule', title: t.schedule ?? '' }, schedule) : null,
          t.next_run_at && !finished
            ? h('span', { class: 'jp-orch-next-run', title: t.next_run_at }, `next ${relativeTime(t.next_run_at)}`)
            : null,
          last ? h('span', { class: 'jp-orch-last-run', dataset: { runId: last.run_id } }, 'last run ', statusBadge(last.status)) : null
        ),
        h(
          'div',
          { class: 'jp-orch-actions' },
          h(
            'button',
            { class: 'jp-orch-button', dataset: { action: 'run-now' }, title: 'Run once now with the same arguments', onclick: () => this._runTaskNow(t) },
            'Run now'
          ),
          h(
            'button',
            {
              class: 'jp-orch-button jp-mod-warn',
              dataset: { action: 'kill' },
              disabled: finished,
              title: finished ? 'Nothing to kill' : 'Kill this task (and stop its schedule)',
              onclick: () => this._killTask(t)
            },
            'Kill'
          )
        )
      );
    });
    this._fill(this._sections.tasks, items, 'No tasks: run an orchestration to create one.');
  }

  private _renderRuns(): void {
    const section = this._sections.runs;
    const task = this._tasks.find(t => t.id === this._selectedTask);
    const title = section.root.querySelector('.jp-orch-section-title');
    if (title) {
      title.textContent = task ? `Runs of ${this._taskTitle(task)}` : 'Runs';
    }
    if (!this._selectedTask) {
      this._fill(section, [], 'Select a task to see its runs.');
      return;
    }
    const items = this._runs.map(r => {
      const start = r.started_at ?? r.created_at;
      const ref = { runId: r.run_id, taskId: this._selectedTask ?? r.task, title: task ? this._taskTitle(task) : shortId(r.task) };
      return h(
        'li',
        {
          class: 'jp-orch-item jp-orch-run',
          dataset: { runId: r.run_id, status: r.status },
          title: 'Open the log of this run',
          tabindex: '0',
          onclick: () => this._openRunLog(ref),
          onkeydown: (e: KeyboardEvent) => {
            if (e.key === 'Enter') {
              this._openRunLog(ref);
            }
          }
        },
        h('div', { class: 'jp-orch-item-main' }, h('span', { class: 'jp-orch-name' }, `run ${shortId(r.run_id)}`), statusBadge(r.status)),
        h(
          'div',
          { class: 'jp-orch-item-meta' },
          timeEl(start ?? null, 'started '),
          start ? h('span', { class: 'jp-orch-duration' }, durationBetween(start, r.ended_at)) : null,
          r.exit_code !== undefined && r.exit_code !== null ? h('span', { class: 'jp-orch-exit-code' }, `exit ${r.exit_code}`) : null
        )
      );
    });
    this._fill(section, items, 'No runs yet.');
  }

  private _renderPipelines(): void {
    const items = this._pipelines.map(p => {
      const deployed = p.deployed ?? (p.status === 'Running' || p.status === 'Starting');
      const busy = this._busyPipelines.has(p.name);
      const ws = p.workspace_id ?? this._workspaceId;
      return h(
        'li',
        { class: 'jp-orch-item jp-orch-pipeline', dataset: { pipeline: p.name, deployed: String(deployed) } },
        h(
          'div',
          { class: 'jp-orch-item-main' },
          h(
            'button',
            {
              class: 'jp-orch-link jp-orch-name',
              dataset: { action: 'open-log' },
              title: 'Open the inference log',
              onclick: () => {
                if (ws !== null && ws !== undefined) {
                  this._openInferenceLog(p.name, ws);
                }
              }
            },
            p.name
          ),
          statusBadge(p.status ?? (deployed ? 'Running' : 'Undeployed'))
        ),
        h('div', { class: 'jp-orch-item-meta' }, h('span', {}, deployed ? 'deployed' : 'not deployed'), timeEl(p.created_at ?? null)),
        h(
          'div',
          { class: 'jp-orch-actions' },
          h('button', { class: 'jp-orch-button', dataset: { action: 'deploy' }, disabled: deployed || busy, onclick: () => this._deploy(p, true) }, 'Deploy'),
          h(
            'button',
            { class: 'jp-orch-button', dataset: { action: 'undeploy' }, disabled: !deployed || busy, onclick: () => this._deploy(p, false) },
            'Undeploy'
          )
        )
      );
    });
    this._fill(this._sections.pipelines, items, 'No pipelines in this workspace.');
  }

  private _renderConnections(): void {
    const items = this._connections.map(c =>
      h(
        'li',
        { class: 'jp-orch-item jp-orch-connection', dataset: { connectionId: c.id } },
        h('div', { class: 'jp-orch-item-main' }, h('span', { class: 'jp-orch-name' }, c.name), h('span', { class: 'jp-orch-type' }, c.type)),
        h(
          'div',
          { class: 'jp-orch-item-meta' },
          h('span', { class: 'jp-orch-details', title: 'Details are hidden' }, 'details: ••••'),
          c.workspace_names && c.workspace_names.length ? h('span', {}, `in ${c.workspace_names.join(', ')}`) : null
        )
      )
    );
    this._fill(this._sections.connections, items, 'No connections.');
  }

  private _openRunLog: (run: IRunRef) => void;
  private _openInferenceLog: (pipelineName: string, workspaceId: number) => void;
  private _busy = false;
  private _timer: number | null = null;
  private _pollTimer: number | null = null;
  private _pollDelay = 1000;
  private _pending = new Set<Part>();
  private _deferred: (() => void)[] = [];
  private _notified = new Set<string>();
  private _busyPipelines = new Set<string>();
  private _openLogs = new Set<string>();
  private _workspaceId: number | null;
  private _selectedTask: string | null = null;
  private _workspaces: api.IWorkspace[] = [];
  private _orchestrations: api.IOrchestration[] = [];
  private _tasks: api.ITask[] = [];
  private _runs: api.IRun[] = [];
  private _pipelines: api.IPipeline[] = [];
  private _connections: api.IConnection[] = [];
  private _sections: Record<Exclude<Part, 'workspaces'>, ISection> = {} as any;
  private _select!: HTMLSelectElement;
  private _liveEl!: HTMLElement;
  private _wsError!: HTMLElement;
  private _fileInput!: HTMLInputElement;
  private _uploadStatus!: HTMLElement;
}
