import { listIcon, runIcon, stopIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React, { memo } from 'react';
import { IPipeline } from '../api';
import { CommandIDs } from '../commandids';
import { ISidebarContext } from './context';
import { RowList, rowProps, Section, StatusBadge, Time, useSignal, useSlice } from './common';

/** The pipeline's one state, from its status: deployed, deploying, failed or not deployed. */
export function pipelineState(p: IPipeline): 'deployed' | 'deploying' | 'failed' | 'undeployed' {
  switch (p.status) {
    case 'Running':
      return 'deployed';
    case 'Starting':
      return 'deploying';
    case 'Error':
      return 'failed';
    default:
      return p.status === undefined && p.deployed ? 'deployed' : 'undeployed';
  }
}

const PipelineRow = memo(function PipelineRow(props: {
  pipeline: IPipeline;
  ctx: ISidebarContext;
  workspace: string;
}): JSX.Element {
  const { pipeline: p, ctx } = props;
  const { commands, trans } = ctx;
  const state = pipelineState(p);
  const args = { pipelineName: p.name, workspaceId: p.workspace_id ?? null };
  const open = () => void commands.execute(CommandIDs.openInferenceLog, args);
  return (
    <li className="jp-orch-item jp-orch-pipeline" data-pipeline={p.name} data-state={state} {...rowProps(open)}>
      <div className="jp-orch-item-main">
        <span className="jp-orch-name">{p.name}</span>
        <StatusBadge status={p.status ?? (state === 'deployed' ? 'Running' : 'Undeployed')} />
      </div>
      <div className="jp-orch-item-meta">
        {props.workspace ? <span className="jp-orch-workspace-name">{props.workspace}</span> : null}
        {state === 'deployed' ? (
          <Time value={p.updated_at} zone={ctx.zone} prefix={trans.__('deployed ')} />
        ) : (
          <Time value={p.created_at} zone={ctx.zone} prefix={trans.__('created ')} />
        )}
        <span>{trans._n('%1 step', '%1 steps', p.steps?.length ?? 0)}</span>
      </div>
      <div className="jp-orch-actions">
        <ToolbarButtonComponent
          icon={runIcon}
          label={trans.__('Deploy')}
          dataset={{ action: 'deploy' }}
          enabled={state === 'undeployed' || state === 'failed'}
          onClick={() => void commands.execute(CommandIDs.deploy, args)}
        />
        <ToolbarButtonComponent
          icon={stopIcon}
          label={trans.__('Undeploy')}
          dataset={{ action: 'undeploy' }}
          enabled={state === 'deployed'}
          onClick={() => void commands.execute(CommandIDs.undeploy, args)}
        />
        <ToolbarButtonComponent
          icon={listIcon}
          label={trans.__('Inference log')}
          dataset={{ action: 'open-log' }}
          onClick={open}
        />
      </div>
    </li>
  );
});

export function PipelineList(props: { ctx: ISidebarContext; collapsed: boolean; onToggle: () => void }): JSX.Element {
  const { ctx } = props;
  const { model, trans } = ctx;
  const slice = useSlice(model.pipelines);
  useSignal(model.workspaces.changed);
  const all = model.scope === 'all';
  return (
    <Section
      id="pipelines"
      title={trans.__('Pipelines')}
      count={slice.items.length}
      error={slice.error}
      collapsed={props.collapsed}
      onToggle={props.onToggle}
    >
      <RowList label={trans.__('Pipelines')} empty={trans.__('No pipelines here.')}>
        {slice.items.map(p => (
          <PipelineRow key={p.id} pipeline={p} ctx={ctx} workspace={all ? model.workspaceName(p.workspace_id) : ''} />
        ))}
      </RowList>
    </Section>
  );
}
