import { addIcon, refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React from 'react';
import { CommandIDs } from '../commandids';
import { ISidebarContext } from './context';
import { useSignal, useSlice } from './common';

/** Title, live dot, workspace picker (with "All workspaces") and the create/refresh buttons. */
export function WorkspaceBar(props: { ctx: ISidebarContext; live: boolean }): JSX.Element {
  const { model, commands, trans } = props.ctx;
  const workspaces = useSlice(model.workspaces);
  useSignal(model.scopeChanged);
  const scope = model.scope;
  const value = scope === null ? '' : String(scope);
  return (
    <div className="jp-orch-header-box">
      <div className="jp-orch-header">
        <span className="jp-orch-title">{trans.__('Orchestration')}</span>
        <span
          className="jp-orch-live"
          data-live={String(props.live)}
          title={props.live ? trans.__('Live: receiving updates') : trans.__('Not connected; refreshing now and then')}
        />
        <ToolbarButtonComponent
          icon={addIcon}
          tooltip={trans.__('Create a workspace')}
          dataset={{ action: 'create-workspace' }}
          onClick={() => void commands.execute(CommandIDs.createWorkspace)}
        />
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh')}
          dataset={{ action: 'refresh' }}
          onClick={() => void commands.execute(CommandIDs.refresh)}
        />
      </div>
      <label className="jp-orch-workspace-row">
        <span>{trans.__('Workspace')}</span>
        <select
          className="jp-orch-workspace jp-mod-styled"
          aria-label={trans.__('Workspace')}
          value={value}
          onChange={e => model.setScope(e.target.value === 'all' ? 'all' : Number(e.target.value))}
        >
          {workspaces.items.length ? null : <option value="">{trans.__('No workspaces yet')}</option>}
          {workspaces.items.map(w => (
            <option key={w.id} value={String(w.id)}>
              {w.name}
            </option>
          ))}
          {workspaces.items.length ? <option value="all">{trans.__('All workspaces')}</option> : null}
        </select>
      </label>
      {workspaces.error ? <div className="jp-orch-error">{workspaces.error}</div> : null}
      {workspaces.loaded && !workspaces.items.length ? (
        <div className="jp-orch-empty jp-orch-first-run">
          {trans.__('There is no workspace yet.')}{' '}
          <button className="jp-orch-link" onClick={() => void commands.execute(CommandIDs.createWorkspace)}>
            {trans.__('Create one')}
          </button>
        </div>
      ) : null}
    </div>
  );
}
