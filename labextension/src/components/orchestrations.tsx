import { addIcon, fileUploadIcon, folderIcon, runIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React, { memo } from 'react';
import { IOrchestration } from '../api';
import { CommandIDs } from '../commandids';
import { humanMessage, shortId } from '../format';
import { ISidebarContext } from './context';
import { RowList, rowProps, Section, StatusBadge, Time, useSignal, useSlice } from './common';

const OrchestrationRow = memo(function OrchestrationRow(props: {
  orch: IOrchestration;
  ctx: ISidebarContext;
  workspace: string;
}): JSX.Element {
  const { orch, ctx, workspace } = props;
  const { commands, trans } = ctx;
  const ready = orch.status === 'ready';
  const args = { orchId: orch.id };
  return (
    <li
      className="jp-orch-item jp-orch-orchestration"
      data-orch-id={orch.id}
      data-status={orch.status}
      {...rowProps(() => void commands.execute(CommandIDs.openFiles, args))}
    >
      <div className="jp-orch-item-main">
        <span className="jp-orch-name" title={orch.file_name ?? ''}>
          {orch.name || orch.file_name || shortId(orch.id)}
        </span>
        <StatusBadge status={orch.status} />
      </div>
      <div className="jp-orch-item-meta">
        {workspace ? <span className="jp-orch-workspace-name">{workspace}</span> : null}
        <code className="jp-orch-sha" title={orch.sha}>
          {shortId(orch.sha, 10)}
        </code>
        <Time value={orch.created_at} zone={ctx.zone} prefix={trans.__('uploaded ')} />
      </div>
      {orch.error ? <div className="jp-orch-item-error">{humanMessage(orch.error)}</div> : null}
      {orch.packaging_log && orch.status === 'error' ? (
        <details className="jp-orch-packaging-log">
          <summary>{trans.__('Packaging log')}</summary>
          <pre>{orch.packaging_log}</pre>
        </details>
      ) : null}
      <div className="jp-orch-actions">
        <ToolbarButtonComponent
          icon={runIcon}
          label={trans.__('Run')}
          dataset={{ action: 'run' }}
          enabled={ready}
          tooltip={trans.__('Run once now (a new task)')}
          disabledTooltip={trans.__('Available once packaging is ready')}
          onClick={() => void commands.execute(CommandIDs.runOrchestration, args)}
        />
        <ToolbarButtonComponent
          icon={addIcon}
          label={trans.__('New task…')}
          dataset={{ action: 'new-task' }}
          enabled={ready}
          tooltip={trans.__('Run once, on a schedule or continuously, with arguments')}
          onClick={() => void commands.execute(CommandIDs.newTask, args)}
        />
        <ToolbarButtonComponent
          icon={folderIcon}
          label={trans.__('Files')}
          dataset={{ action: 'files' }}
          tooltip={trans.__("The orchestration's files and main.py")}
          onClick={() => void commands.execute(CommandIDs.openFiles, args)}
        />
      </div>
    </li>
  );
});

export function OrchestrationList(props: {
  ctx: ISidebarContext;
  collapsed: boolean;
  onToggle: () => void;
}): JSX.Element {
  const { ctx } = props;
  const { model, commands, trans } = ctx;
  const slice = useSlice(model.orchestrations);
  useSignal(model.workspaces.changed);
  const all = model.scope === 'all';
  const items = [...slice.items].sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''));
  return (
    <Section
      id="orchestrations"
      title={trans.__('Orchestrations')}
      count={items.length}
      error={slice.error}
      collapsed={props.collapsed}
      onToggle={props.onToggle}
      tools={
        <ToolbarButtonComponent
          icon={fileUploadIcon}
          label={trans.__('Upload .zip')}
          dataset={{ action: 'upload' }}
          enabled={typeof model.scope === 'number'}
          tooltip={trans.__('Upload a .zip with a main.py (or drop one on this panel)')}
          disabledTooltip={trans.__('Pick one workspace to upload into')}
          onClick={() => void commands.execute(CommandIDs.upload)}
        />
      }
    >
      <RowList
        label={trans.__('Orchestrations')}
        empty={trans.__('No orchestrations yet: drop a .zip with a main.py here, or use Upload.')}
      >
        {items.map(o => (
          <OrchestrationRow key={o.id} orch={o} ctx={ctx} workspace={all ? model.workspaceName(o.workspace_id) : ''} />
        ))}
      </RowList>
    </Section>
  );
}
