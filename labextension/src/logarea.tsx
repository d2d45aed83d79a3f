/**
 * Run logs open as tabs of one log area: the first splits the main area to the right, the
 * next ones join it as tabs (not one more split column each). Each log has a toolbar:
 * search, stderr only, reload and download.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { downloadIcon, LabIcon, ReactWidget, refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import React from 'react';
import { saveText } from './download';
import { EventChannel } from './events';
import { Zone } from './format';
import { RunLogView } from './logview';

export interface IRunRef {
  runId: string;
  taskId: string;
  title: string;
}

function logToolbar(view: RunLogView, trans: TranslationBundle): Widget[] {
  const search = ReactWidget.create(
    <input
      className="jp-orch-log-search jp-mod-styled"
      type="search"
      placeholder={trans.__('Search the log')}
      aria-label={trans.__('Search the log')}
      onChange={e => view.setFilter(e.target.value)}
    />
  );
  const stderr = ReactWidget.create(
    <label className="jp-orch-stderr-only">
      <input type="checkbox" onChange={e => view.setStderrOnly(e.target.checked)} />
      {trans.__('stderr only')}
    </label>
  );
  const reload = new ToolbarButton({
    icon: refreshIcon,
    tooltip: trans.__('Reload the log'),
    onClick: () => view.reload()
  });
  const download = new ToolbarButton({
    icon: downloadIcon,
    tooltip: trans.__('Download the log'),
    className: 'jp-orch-log-download',
    onClick: () => saveText(view.text(), `run-${view.runId}.log`)
  });
  return [search, stderr, reload, download];
}

export class LogArea {
  constructor(
    private readonly _shell: JupyterFrontEnd.IShell,
    private readonly _channel: EventChannel,
    private readonly _icon: LabIcon,
    private readonly _trans: TranslationBundle,
    private readonly _zone: () => Zone
  ) {}

  open(run: IRunRef): void {
    let widget = this._logs.get(run.runId);
    if (!widget || widget.isDisposed) {
      const content = new RunLogView({ ...run, channel: this._channel, zone: this._zone() });
      widget = new MainAreaWidget({ content });
      widget.id = `jp-orch-log-${run.runId}`;
      widget.title.label = `Log: ${run.title}`;
      widget.title.caption = `Run ${run.runId} of task ${run.taskId}`;
      widget.title.icon = this._icon;
      widget.title.closable = true;
      widget.addClass('jp-orch-logview-widget');
      logToolbar(content, this._trans).forEach((item, i) => widget!.toolbar.addItem(`orch-log-${i}`, item));
      this._logs.set(run.runId, widget);
      widget.disposed.connect(() => this._logs.delete(run.runId));
    }
    if (!widget.isAttached) {
      const ref = this._newestAttached();
      this._shell.add(widget, 'main', ref ? { mode: 'tab-after', ref: ref.id } : { mode: 'split-right' });
    }
    this._shell.activateById(widget.id);
  }

  private _newestAttached(): Widget | null {
    const attached = [...this._logs.values()].filter(w => w.isAttached);
    return attached.length ? attached[attached.length - 1] : null;
  }

  private _logs = new Map<string, MainAreaWidget<RunLogView>>();
}
