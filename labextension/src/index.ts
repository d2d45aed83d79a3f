/**
 * jupyter-orch JupyterLab extension: the left sidebar, its commands (palette, context menus,
 * buttons), the run-log area, the inference-log and file views and a status-bar item.
 * It needs nothing but the shell, so it loads in JupyterLab and in Notebook 7.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget, Notification, showDialog, Dialog } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import * as api from './api';
import { copyNotebookArtifact } from './artifactcopy';
import { runAsTaskButton } from './notebookbutton';
import { CommandIDs } from './commandids';
import { askNewConnection } from './connectiondialog';
import { ISidebarContext } from './components/context';
import { downloadUrl } from './download';
import { EventChannel } from './events';
import { humanMessage, shortId, Zone } from './format';
import { InferenceLogView } from './inferencelog';
import { LogArea } from './logarea';
import { failureWords, FINISHED_TASK, OrchModel } from './model';
import { FailureNotices } from './notify';
import { OrchestrationFilesView } from './orchfiles';
import { OrchSidebar, SIDEBAR_ID } from './sidebar';
import { runningTasksItem } from './statusbar';
import { askChainEdit, askNewTask, askRunNow, askScheduleEdit } from './taskdialog';
import { followKernelWorkspace } from './kernelworkspace';
import { CRONJOB, ONESHOT, PAUSED, PIPELINE_ERROR, PIPELINE_RUNNING, PIPELINE_UNDEPLOYED } from './constants';

const PLUGIN_ID = 'jupyter-orch:sidebar';
const STATE_KEY = `${PLUGIN_ID}:workspace`;

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="6" r="2.5"/><circle cx="5" cy="18" r="2.5"/><circle cx="19" cy="12" r="2.5"/>
    <path d="M7 6.6h4.2l4.3 4.6h1v1.6h-1l-4.3 4.6H7v-1.6h3.5l3.6-3.8-3.6-3.8H7z"/>
  </g>
</svg>`;

export const orchIcon = new LabIcon({ name: 'jupyter-orch:icon', svgstr: ICON_SVG });

interface ISettings {
  defaultWorkspace: string;
  timeZone: Zone;
  failureNotifications: boolean;
  followKernelWorkspace: boolean;
}

const DEFAULTS: ISettings = {
  defaultWorkspace: '',
  timeZone: 'local',
  failureNotifications: true,
  followKernelWorkspace: true
};

/** The row a context menu was opened on (or undefined). */
function rowData(app: JupyterFrontEnd, key: string): string | undefined {
  const node = app.contextMenuHitTest(n => n.dataset[key] !== undefined);
  return node?.dataset[key];
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Orchestrations, tasks, runs, pipelines and connections of jupyter-orch, live.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry, IStateDB, ITranslator, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    state: IStateDB | null,
    translator: ITranslator | null,
    statusBar: IStatusBar | null
  ) => {
    api.useServerSettings(app.serviceManager.serverSettings);
    const trans = (translator ?? nullTranslator).load('jupyter_orch');
    const settings: ISettings = { ...DEFAULTS };
    const channel = new EventChannel();
    const notices = new FailureNotices({
      show: (notice, failure) =>
        Notification.error(notice.message, {
          autoClose: notice.autoClose,
          actions: [{ label: trans.__('Show log'), callback: () => logs.open(failure) }]
        }),
      update: (id, notice, failure) =>
        Notification.update({
          id,
          message: notice.message,
          type: 'error',
          autoClose: notice.autoClose,
          actions: [{ label: trans.__('Show log'), callback: () => logs.open(failure) }]
        })
    });
    const model = new OrchModel({
      channel,
      stateEvents: app.serviceManager.events.stream,
      onRunFailed: ({ task, event, where }) => {
        if (!settings.failureNotifications) {
          return;
        }
        const taskId = String(event.task_id ?? '');
        notices.report({
          taskId,
          runId: String(event.id),
          title: task ? model.taskTitle(task) : `task ${shortId(taskId)}`,
          what: failureWords(event),
          where
        });
      },
      onOrchestrationFailed: (orch, event) => {
        const name = orch?.name || (event.name as string) || shortId(event.id);
        const why = humanMessage(orch?.error || (event.error as string) || 'packaging failed');
        Notification.error(trans.__('Orchestration "%1" failed: %2', name, why), { autoClose: false });
      }
    });
    const logs = new LogArea(app.shell, channel, orchIcon, trans, () => settings.timeZone);
    const context = (): ISidebarContext => ({ model, commands: app.commands, trans, zone: settings.timeZone });
    const sidebar = new OrchSidebar(context(), files => void upload(files));
    sidebar.title.icon = orchIcon;
    sidebar.title.caption = trans.__('Orchestrations');
    app.shell.add(sidebar, 'left', { rank: 900 });
    restorer?.add(sidebar, SIDEBAR_ID);

    // The chosen workspace survives reloads (IStateDB); the settings name a default.
    model.scopeChanged.connect((_, scope) => {
      if (scope !== null) {
        void state?.save(STATE_KEY, scope);
      }
    });
    // Settings and the saved workspace are read once the app has started (the state
    // database answers only then, so activation must not wait for it).
    void app.started.then(async () => {
      const [saved, loaded] = await Promise.all([
        state?.fetch(STATE_KEY).catch(() => undefined),
        settingRegistry?.load(PLUGIN_ID).catch(() => null)
      ]);
      const applySettings = () => {
        Object.assign(settings, DEFAULTS, loaded?.composite ?? {});
        sidebar.context = context();
      };
      if (loaded) {
        applySettings();
        loaded.changed.connect(applySettings);
      }
      if (saved === 'all' || typeof saved === 'number') {
        model.setScope(saved);
      } else if (settings.defaultWorkspace) {
        const ws = await api.listWorkspaces().catch(() => []);
        const match = ws.find(w => w.name === settings.defaultWorkspace);
        if (match) {
          model.setScope(match.id);
        }
      }
    });
    followKernelWorkspace(app.shell, id => {
      if (settings.followKernelWorkspace) {
        model.setScope(id);
        model.refreshPart('workspaces');
      }
    });

    const upload = async (files: File[]) => {
      const ws = model.scope;
      if (typeof ws !== 'number') {
        Notification.error(trans.__('Pick one workspace (or create one) before uploading an orchestration.'), {
          autoClose: 8000
        });
        return;
      }
      for (const file of files) {
        if (!/\.zip$/i.test(file.name)) {
          Notification.error(trans.__('"%1" is not a .zip file; an orchestration is uploaded as a zip.', file.name), {
            autoClose: 8000
          });
          continue;
        }
        const name = file.name.replace(/\.zip$/i, '');
        await act(trans.__('Uploading %1 failed', file.name), async () => {
          await api.uploadOrchestration(file, file.name, ws, name);
          Notification.info(trans.__('Uploaded "%1"; packaging…', name), { autoClose: 3000 });
        });
      }
      model.refreshPart('orchestrations');
    };

    const act = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        Notification.error(`${what}: ${api.messageOf(e)}`, { autoClose: 8000 });
      }
    };

    const orchOf = (args: ReadonlyPartialJSONObject) => {
      const id = String(args.orchId ?? rowData(app, 'orchId') ?? '');
      return model.orchestrations.get(id);
    };
    /** What a task of `orchId` may chain to: the ready orchestrations of its workspace but its own (a loop). */
    const followUpChoices = (workspaceId: number, orchId: string) =>
      model.orchestrations.items
        .filter(o => o.workspace_id === workspaceId && o.status === 'ready' && o.id !== orchId)
        .map(o => ({ id: o.id, name: o.name || o.file_name || shortId(o.id) }));
    const taskOf = (args: ReadonlyPartialJSONObject) => {
      const id = String(args.taskId ?? rowData(app, 'taskId') ?? '');
      return model.tasks.get(id);
    };
    const pipelineOf = (args: ReadonlyPartialJSONObject) => {
      const name = String(args.pipelineName ?? rowData(app, 'pipeline') ?? '');
      return model.pipelines.items.find(p => p.name === name);
    };
    const startTask = async (task: api.INewTask) => {
      const id = await api.createTask(task);
      model.selectTask(id);
      model.refreshPart('tasks');
    };
    const inferenceLogs = new Map<string, MainAreaWidget<InferenceLogView>>();
    const fileViews = new Map<string, MainAreaWidget<OrchestrationFilesView>>();

    const { commands } = app;
    commands.addCommand(CommandIDs.showSidebar, {
      label: trans.__('Show Orchestration Sidebar'),
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Orchestration Sidebar'),
      execute: () => model.refresh()
    });
    commands.addCommand(CommandIDs.createWorkspace, {
      label: trans.__('Create Orchestration Workspace…'),
      execute: async () => {
        const result = await InputDialog.getText({
          title: trans.__('New workspace'),
          label: trans.__('Name (a letter first, then letters, digits or -)'),
          placeholder: 'my-workspace'
        });
        if (result.button.accept && result.value) {
          const name = result.value.trim();
          await act(trans.__('Creating workspace "%1" failed', name), async () => {
            const id = await api.createWorkspace(name);
            model.refreshPart('workspaces');
            model.setScope(id);
          });
        }
      }
    });
    commands.addCommand(CommandIDs.upload, {
      label: trans.__('Upload Orchestration (.zip)…'),
      isEnabled: () => typeof model.scope === 'number',
      execute: () => {
        app.shell.activateById(SIDEBAR_ID);
        sidebar.pickFiles();
      }
    });
    commands.addCommand(CommandIDs.runOrchestration, {
      label: trans.__('Run Orchestration Once'),
      isEnabled: args => orchOf(args)?.status === 'ready',
      execute: args => {
        const orch = orchOf(args);
        if (orch) {
          const name = orch.name || orch.file_name || shortId(orch.id);
          return act(trans.__('Running "%1" failed', name), () =>
            startTask({ workspaceId: orch.workspace_id, orchId: orch.id, name, mode: 'once' })
          );
        }
      }
    });
    commands.addCommand(CommandIDs.newTask, {
      label: trans.__('New Task of Orchestration…'),
      isEnabled: args => orchOf(args)?.status === 'ready',
      execute: async args => {
        const orch = orchOf(args);
        if (!orch) {
          return;
        }
        const name = orch.name || orch.file_name || shortId(orch.id);
        const followUps = followUpChoices(orch.workspace_id, orch.id);
        const task = await askNewTask(
          { id: orch.id, name, workspaceId: orch.workspace_id },
          settings.timeZone,
          trans,
          followUps
        );
        if (task) {
          await act(trans.__('Starting a task of "%1" failed', name), () => startTask(task));
        }
      }
    });
    commands.addCommand(CommandIDs.openFiles, {
      label: trans.__('Show Orchestration Files'),
      execute: args => {
        const orch = orchOf(args);
        if (!orch) {
          return;
        }
        let widget = fileViews.get(orch.id);
        if (!widget || widget.isDisposed) {
          widget = new MainAreaWidget({ content: new OrchestrationFilesView(orch, trans) });
          widget.id = `jp-orch-files-${orch.id}`;
          widget.title.label = trans.__('Files: %1', orch.name || orch.file_name || shortId(orch.id));
          widget.title.icon = orchIcon;
          widget.title.closable = true;
          fileViews.set(orch.id, widget);
        }
        if (!widget.isAttached) {
          app.shell.add(widget, 'main');
        }
        app.shell.activateById(widget.id);
      }
    });
    commands.addCommand(CommandIDs.downloadZip, {
      label: trans.__('Download Orchestration Zip'),
      execute: args => {
        const orch = orchOf(args);
        if (orch) {
          downloadUrl(api.orchestrationFileUrl(orch.id), orch.file_name || `${orch.id}.zip`);
        }
      }
    });
    commands.addCommand(CommandIDs.runTaskNow, {
      label: trans.__('Run Task Now'),
      execute: args => {
        const task = taskOf(args);
        if (task) {
          const title = model.taskTitle(task);
          return act(trans.__('Running "%1" failed', title), () =>
            startTask({
              workspaceId: task.workspace_id,
              orchId: task.orch_id,
              name: title,
              json: task.input_data ?? {},
              timeout: task.timeout,
              mode: 'once'
            })
          );
        }
      }
    });
    commands.addCommand(CommandIDs.killTask, {
      label: trans.__('Kill Task'),
      isEnabled: args => {
        const task = taskOf(args);
        return Boolean(task && !task.killed && !FINISHED_TASK.has(task.status));
      },
      execute: async args => {
        const task = taskOf(args);
        if (!task) {
          return;
        }
        const title = model.taskTitle(task);
        if (task.run_type !== ONESHOT) {
          const ok = await showDialog({
            title: trans.__('Kill "%1"?', title),
            body: trans.__('Its schedule stops for good; a killed task cannot be resumed.'),
            buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Kill') })]
          });
          if (!ok.button.accept) {
            return;
          }
        }
        await act(trans.__('Killing "%1" failed', title), async () => {
          await api.killTask(task.id);
          model.refreshPart('tasks');
          model.refreshPart('runs');
        });
      }
    });
    // A live scheduled task: paused or started, not killed.
    const liveSchedule = (task: api.ITask | undefined, status?: string): task is api.ITask =>
      Boolean(
        task &&
        task.run_type === CRONJOB &&
        !task.killed &&
        (task.status === status || !status) &&
        (task.status === PAUSED || task.status === 'started')
      );
    const setPaused = async (args: ReadonlyPartialJSONObject, pause: boolean) => {
      const task = taskOf(args);
      if (task) {
        const title = model.taskTitle(task);
        await act(trans.__(pause ? 'Pausing "%1" failed' : 'Resuming "%1" failed', title), async () => {
          await api.pauseTask(task.id, pause);
          model.refreshPart('tasks');
        });
      }
    };
    commands.addCommand(CommandIDs.pauseTask, {
      label: trans.__('Pause Schedule'),
      isEnabled: args => liveSchedule(taskOf(args), 'started'),
      execute: args => setPaused(args, true)
    });
    commands.addCommand(CommandIDs.resumeTask, {
      label: trans.__('Resume Schedule'),
      isEnabled: args => liveSchedule(taskOf(args), PAUSED),
      execute: args => setPaused(args, false)
    });
    /** A task command that asks for something, then applies the answer (a failure is notified). */
    const askThenApply = async <T>(
      args: ReadonlyPartialJSONObject,
      allowed: (task: api.ITask | undefined) => task is api.ITask,
      ask: (task: api.ITask, title: string) => Promise<T | null | undefined>,
      failure: (title: string) => string,
      apply: (task: api.ITask, answer: T) => Promise<void>
    ): Promise<void> => {
      const task = taskOf(args);
      if (!allowed(task)) {
        return;
      }
      const title = model.taskTitle(task);
      const answer = await ask(task, title);
      if (answer) {
        await act(failure(title), () => apply(task, answer));
      }
    };
    const editable = (task: api.ITask | undefined): task is api.ITask => Boolean(task && !task.killed);
    commands.addCommand(CommandIDs.editSchedule, {
      label: trans.__('Edit Schedule…'),
      isEnabled: args => liveSchedule(taskOf(args)),
      execute: args =>
        askThenApply(
          args,
          liveSchedule,
          (task, title) => askScheduleEdit(task, title, settings.timeZone, trans),
          title => trans.__('Editing "%1" failed', title),
          async (task, changes) => {
            await api.updateSchedule(task.id, changes);
            model.refreshPart('tasks');
          }
        )
    });
    commands.addCommand(CommandIDs.editChain, {
      label: trans.__('Edit Follow-ups…'),
      isEnabled: args => editable(taskOf(args)),
      execute: args =>
        askThenApply(
          args,
          editable,
          (task, title) => askChainEdit(task, title, followUpChoices(task.workspace_id, task.orch_id), trans),
          title => trans.__('Editing the follow-ups of "%1" failed', title),
          async (task, chain) => {
            await api.updateChain(task.id, chain);
            model.refreshPart('tasks');
          }
        )
    });
    commands.addCommand(CommandIDs.runScheduledNow, {
      label: trans.__('Run Now With…'),
      isEnabled: args => liveSchedule(taskOf(args)),
      execute: args =>
        askThenApply(
          args,
          liveSchedule,
          (task, title) => askRunNow(task, title, settings.timeZone, trans),
          title => trans.__('Running "%1" failed', title),
          async (task, run) => {
            await api.runNow(task.id, run.json, run.timeout);
            model.selectTask(task.id);
            model.refreshPart('runs');
          }
        )
    });
    commands.addCommand(CommandIDs.rerunRun, {
      label: trans.__('Re-run'),
      execute: async args => {
        const runId = String(args.runId ?? rowData(app, 'runId') ?? '');
        if (runId) {
          await act(trans.__('Re-running run %1 failed', shortId(runId)), async () => {
            await api.rerun(runId);
            model.refreshPart('tasks');
            model.refreshPart('runs');
          });
        }
      }
    });
    commands.addCommand(CommandIDs.runNotebookAsTask, {
      label: trans.__('Run Notebook as Task…'),
      execute: async args => {
        const path = String(args.path ?? '');
        const workspaceId = model.scope;
        if (!path) {
          return;
        }
        if (typeof workspaceId !== 'number') {
          app.shell.activateById(SIDEBAR_ID);
          Notification.error(trans.__('Pick one workspace in the orchestration sidebar first.'), { autoClose: 8000 });
          return;
        }
        await act(trans.__('Running %1 as a task failed', path), async () => {
          const orch = await api.waitForOrchestration(await api.uploadNotebook(path, workspaceId));
          if (orch.status !== 'ready') {
            throw new Error(humanMessage(orch.error || trans.__('the orchestration is %1', orch.status)));
          }
          const name = orch.name || shortId(orch.id);
          const task = await askNewTask({ id: orch.id, name, workspaceId }, settings.timeZone, trans);
          if (task) {
            await startTask(task);
          }
        });
      }
    });
    app.docRegistry.addWidgetExtension('Notebook', runAsTaskButton(commands, trans));
    commands.addCommand(CommandIDs.openArtifact, {
      label: trans.__('Open Notebook Artifact'),
      execute: async args => {
        const runId = String(args.runId ?? '');
        const path = String(args.path ?? '');
        if (runId && path) {
          await act(trans.__('Opening %1 failed', path), async () => {
            const copy = await copyNotebookArtifact(app.serviceManager.contents, runId, path);
            await commands.execute('docmanager:open', { path: copy });
          });
        }
      }
    });
    commands.addCommand(CommandIDs.openRunLog, {
      label: trans.__('Open Task Run Log'),
      execute: args => {
        const runId = String(args.runId ?? rowData(app, 'runId') ?? '');
        if (runId) {
          logs.open({
            runId,
            taskId: String(args.taskId ?? model.selectedTask ?? ''),
            title: String(args.title ?? runId)
          });
        }
      }
    });
    const deploy = (on: boolean) => (args: ReadonlyPartialJSONObject) => {
      const p = pipelineOf(args);
      if (p) {
        const what = on ? trans.__('Deploying "%1" failed', p.name) : trans.__('Undeploying "%1" failed', p.name);
        if (on) {
          model.pipelines.patch(String(p.id), { status: 'Starting' }); // "deploying" at once
        }
        return act(what, async () => {
          await (on ? api.deployPipeline(p.name) : api.undeployPipeline(p.name));
          model.refreshPart('pipelines');
        });
      }
    };
    commands.addCommand(CommandIDs.deploy, {
      label: trans.__('Deploy Pipeline'),
      isEnabled: args => [PIPELINE_UNDEPLOYED, PIPELINE_ERROR, undefined].includes(pipelineOf(args)?.status),
      execute: deploy(true)
    });
    commands.addCommand(CommandIDs.undeploy, {
      label: trans.__('Undeploy Pipeline'),
      isEnabled: args => pipelineOf(args)?.status === PIPELINE_RUNNING,
      execute: deploy(false)
    });
    commands.addCommand(CommandIDs.openInferenceLog, {
      label: trans.__('Open Pipeline Inference Log'),
      execute: args => {
        const p = pipelineOf(args);
        const pipelineName = String(args.pipelineName ?? p?.name ?? '');
        if (!pipelineName) {
          return;
        }
        const workspaceId = (args.workspaceId as number | null | undefined) ?? p?.workspace_id ?? null;
        const key = `${workspaceId}/${pipelineName}`;
        let widget = inferenceLogs.get(key);
        if (!widget || widget.isDisposed) {
          const content = new InferenceLogView({ pipelineName, workspaceId, channel, trans, zone: settings.timeZone });
          widget = new MainAreaWidget({ content });
          widget.id = `jp-orch-inference-${workspaceId}-${pipelineName.replace(/[^A-Za-z0-9_-]/g, '_')}`;
          widget.title.label = trans.__('Inference: %1', pipelineName);
          widget.title.icon = orchIcon;
          widget.title.closable = true;
          widget.addClass('jp-orch-inference-widget');
          inferenceLogs.set(key, widget);
        }
        if (!widget.isAttached) {
          app.shell.add(widget, 'main');
        }
        app.shell.activateById(widget.id);
      }
    });
    commands.addCommand(CommandIDs.createConnection, {
      label: trans.__('Create Orchestration Connection…'),
      execute: async () => {
        const conn = await askNewConnection(trans);
        if (conn) {
          await act(trans.__('Creating connection "%1" failed', conn.name), async () => {
            await api.createConnection(
              conn.name,
              conn.type,
              conn.details,
              typeof model.scope === 'number' ? model.scope : null
            );
            model.refreshPart('connections');
          });
        }
      }
    });
    commands.addCommand(CommandIDs.deleteConnection, {
      label: trans.__('Delete Connection'),
      execute: async args => {
        const name = String(args.name ?? rowData(app, 'name') ?? '');
        if (!name) {
          return;
        }
        const ok = await showDialog({
          title: trans.__('Delete connection "%1"?', name),
          body: trans.__('Orchestrations that use it will no longer find it.'),
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Delete') })]
        });
        if (ok.button.accept) {
          await act(trans.__('Deleting "%1" failed', name), async () => {
            await api.deleteConnection(name);
            model.refreshPart('connections');
          });
        }
      }
    });

    const category = trans.__('Orchestration');
    for (const command of [
      CommandIDs.showSidebar,
      CommandIDs.refresh,
      CommandIDs.createWorkspace,
      CommandIDs.upload,
      CommandIDs.createConnection
    ]) {
      palette?.addItem({ command, category });
    }
    const menus: [string, string[]][] = [
      [
        '.jp-orch-orchestration',
        [CommandIDs.runOrchestration, CommandIDs.newTask, CommandIDs.openFiles, CommandIDs.downloadZip]
      ],
      [
        '.jp-orch-task',
        [
          CommandIDs.runTaskNow,
          CommandIDs.runScheduledNow,
          CommandIDs.pauseTask,
          CommandIDs.resumeTask,
          CommandIDs.editSchedule,
          CommandIDs.editChain,
          CommandIDs.killTask
        ]
      ],
      ['.jp-orch-run', [CommandIDs.openRunLog, CommandIDs.rerunRun]],
      ['.jp-orch-pipeline', [CommandIDs.deploy, CommandIDs.undeploy, CommandIDs.openInferenceLog]],
      ['.jp-orch-connection', [CommandIDs.deleteConnection]]
    ];
    menus.forEach(([selector, ids], group) =>
      ids.forEach((command, rank) => app.contextMenu.addItem({ command, selector, rank: group * 10 + rank }))
    );
    if (statusBar) {
      statusBar.registerStatusItem(`${PLUGIN_ID}:running`, {
        item: runningTasksItem(model, trans, () => app.shell.activateById(SIDEBAR_ID)),
        align: 'left',
        rank: 50
      });
    }
  }
};

export default plugin;
