/**
 * The left sidebar: a ReactWidget made of one component per list. It works only while on
 * show (the model holds the push channel and loads then).
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import React, { useState } from 'react';
import { ConnectionList } from './components/connections';
import { ISidebarContext } from './components/context';
import { OrchestrationList } from './components/orchestrations';
import { PipelineList } from './components/pipelines';
import { RunList } from './components/runs';
import { TaskList } from './components/tasks';
import { WorkspaceBar } from './components/workspacebar';
import { useSignal } from './components/common';

export const SIDEBAR_ID = 'jupyter-orch-sidebar';

type SectionId = 'orchestrations' | 'tasks' | 'runs' | 'pipelines' | 'connections';

function SidebarBody(props: { ctx: ISidebarContext; onFiles: (files: File[]) => void }): JSX.Element {
  const { ctx } = props;
  useSignal(ctx.model.liveChanged);
  const [collapsed, setCollapsed] = useState<Record<SectionId, boolean>>({
    orchestrations: false,
    tasks: false,
    runs: false,
    pipelines: false,
    connections: true
  });
  const toggle = (id: SectionId) => () => setCollapsed(c => ({ ...c, [id]: !c[id] }));
  return (
    <>
      <input
        className="jp-orch-file-input"
        type="file"
        accept=".zip,application/zip"
        multiple
        hidden
        onChange={e => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          props.onFiles(files);
        }}
      />
      <WorkspaceBar ctx={ctx} live={ctx.model.channel.isConnected} />
      <OrchestrationList ctx={ctx} collapsed={collapsed.orchestrations} onToggle={toggle('orchestrations')} />
      <TaskList ctx={ctx} collapsed={collapsed.tasks} onToggle={toggle('tasks')} />
      <RunList ctx={ctx} collapsed={collapsed.runs} onToggle={toggle('runs')} />
      <PipelineList ctx={ctx} collapsed={collapsed.pipelines} onToggle={toggle('pipelines')} />
      <ConnectionList ctx={ctx} collapsed={collapsed.connections} onToggle={toggle('connections')} />
    </>
  );
}

export class OrchSidebar extends ReactWidget {
  constructor(ctx: ISidebarContext, onFiles: (files: File[]) => void) {
    super();
    this._ctx = ctx;
    this.id = SIDEBAR_ID;
    this.addClass('jp-orch-sidebar');
    this._onFiles = onFiles;
    this.node.addEventListener('dragover', e => {
      if (e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files')) {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        this.addClass('jp-mod-dropping');
      }
    });
    this.node.addEventListener('dragleave', e => {
      if (!this.node.contains(e.relatedTarget as Node | null)) {
        this.removeClass('jp-mod-dropping');
      }
    });
    this.node.addEventListener('drop', e => {
      this.removeClass('jp-mod-dropping');
      if (e.dataTransfer && e.dataTransfer.files.length) {
        e.preventDefault();
        e.stopPropagation();
        onFiles(Array.from(e.dataTransfer.files));
      }
    });
  }

  /** Open the file picker for zips to upload. */
  pickFiles(): void {
    this.node.querySelector<HTMLInputElement>('input.jp-orch-file-input')?.click();
  }

  /** New settings (time zone): re-render every row. */
  set context(ctx: ISidebarContext) {
    this._ctx = ctx;
    this.update();
  }

  protected render(): JSX.Element {
    return <SidebarBody ctx={this._ctx} onFiles={this._onFiles} />;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._ctx.model.active = this.isVisible;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._ctx.model.active = true;
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this._ctx.model.active = false;
  }

  protected onBeforeDetach(msg: Message): void {
    this._ctx.model.active = false;
    super.onBeforeDetach(msg);
  }

  private _ctx: ISidebarContext;
  private _onFiles: (files: File[]) => void;
}
