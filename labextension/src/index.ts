/**
 * jupyter-orch JupyterLab extension: the left sidebar plus the run-log and
 * inference-log views it opens in the main area.
 */
import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { EventChannel } from './events';
import { InferenceLogView } from './inferencelog';
import { RunLogView } from './logview';
import { IRunRef, OrchSidebar } from './panel';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="6" r="2.5"/><circle cx="5" cy="18" r="2.5"/><circle cx="19" cy="12" r="2.5"/>
    <path d="M7 6.6h4.2l4.3 4.6h1v1.6h-1l-4.3 4.6H7v-1.6h3.5l3.6-3.8-3.6-3.8H7z"/>
  </g>
</svg>`;

export const orchIcon = new LabIcon({ name: 'jupyter-orch:icon', svgstr: ICON_SVG });

export namespace CommandIDs {
  export const openRunLog = 'jupyter-orch:open-run-log';
  export const openInferenceLog = 'jupyter-orch:open-inference-log';
  export const refresh = 'jupyter-orch:refresh';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-orch:sidebar',
  description: 'Orchestrations, tasks, runs, pipelines and connections of jupyter-orch, live.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, labShell: ILabShell, restorer: ILayoutRestorer | null) => {
    const channel = new EventChannel();
    const runLogs = new Map<string, MainAreaWidget<RunLogView>>();
    const inferenceLogs = new Map<string, MainAreaWidget<InferenceLogView>>();

    const openRunLog = (run: IRunRef) => {
      let widget = runLogs.get(run.runId);
      if (!widget || widget.isDisposed) {
        const content = new RunLogView({ ...run, channel });
        widget = new MainAreaWidget({ content });
        widget.id = `jp-orch-log-${run.runId}`;
        widget.title.label = `Log: ${run.title}`;
        widget.title.caption = `Run ${run.runId} of task ${run.taskId}`;
        widget.title.icon = orchIcon;
        widget.title.closable = true;
        widget.addClass('jp-orch-logview-widget');
        runLogs.set(run.runId, widget);
        widget.disposed.connect(() => runLogs.delete(run.runId));
      }
      if (!widget.isAttached) {
        labShell.add(widget, 'main', { mode: 'split-right' });
      }
      labShell.activateById(widget.id);
    };

    const openInferenceLog = (pipelineName: string, workspaceId: number) => {
      const key = `${workspaceId}/${pipelineName}`;
      let widget = inferenceLogs.get(key);
      if (!widget || widget.isDisposed) {
        const content = new InferenceLogView({ pipelineName, workspaceId, channel });
        widget = new MainAreaWidget({ content });
        widget.id = `jp-orch-inference-${workspaceId}-${pipelineName.replace(/[^A-Za-z0-9_-]/g, '_')}`;
        widget.title.label = `Inference: ${pipelineName}`;
        widget.title.icon = orchIcon;
        widget.title.closable = true;
        widget.addClass('jp-orch-inference-widget');
        inferenceLogs.set(key, widget);
        widget.disposed.connect(() => inferenceLogs.delete(key));
      }
      if (!widget.isAttached) {
        labShell.add(widget, 'main');
      }
      labShell.activateById(widget.id);
    };

    const sidebar = new OrchSidebar({ channel, openRunLog, openInferenceLog });
    sidebar.title.icon = orchIcon;
    sidebar.title.caption = 'Orchestrations';
    labShell.add(sidebar, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(sidebar, sidebar.id);
    }

    app.commands.addCommand(CommandIDs.openRunLog, {
      label: 'Open Task Run Log',
      execute: args =>
        openRunLog({
          runId: String(args.runId),
          taskId: String(args.taskId ?? ''),
          title: String(args.title ?? args.runId)
        })
    });
    app.commands.addCommand(CommandIDs.openInferenceLog, {
      label: 'Open Pipeline Inference Log',
      execute: args => openInferenceLog(String(args.pipelineName), Number(args.workspaceId))
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Orchestration Sidebar',
      execute: () => sidebar.refresh()
    });
  }
};

export default plugin;
