import { addIcon, deleteIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React, { memo } from 'react';
import { IConnection } from '../api';
import { CommandIDs } from '../commandids';
import { ISidebarContext } from './context';
import { RowList, Section, Time, useSlice } from './common';

const ConnectionRow = memo(function ConnectionRow(props: { conn: IConnection; ctx: ISidebarContext }): JSX.Element {
  const { conn: c, ctx } = props;
  const keys = c.details && typeof c.details === 'object' ? Object.keys(c.details as object) : [];
  return (
    <li
      className="jp-orch-item jp-orch-connection"
      data-connection-id={c.id}
      data-name={c.name}
      role="option"
      tabIndex={0}
    >
      <div className="jp-orch-item-main">
        <span className="jp-orch-name">{c.name}</span>
        <span className="jp-orch-type">{c.type}</span>
      </div>
      <div className="jp-orch-item-meta">
        <span className="jp-orch-details" title={ctx.trans.__('Values are hidden')}>
          {keys.length ? keys.map(k => `${k}: ••••`).join(', ') : ctx.trans.__('no details')}
        </span>
        {c.workspace_names && c.workspace_names.length ? <span>{`in ${c.workspace_names.join(', ')}`}</span> : null}
        <Time value={c.created_at} zone={ctx.zone} prefix={ctx.trans.__('created ')} />
      </div>
      <div className="jp-orch-actions">
        <ToolbarButtonComponent
          icon={deleteIcon}
          label={ctx.trans.__('Delete')}
          dataset={{ action: 'delete-connection' }}
          onClick={() => void ctx.commands.execute(CommandIDs.deleteConnection, { name: c.name })}
        />
      </div>
    </li>
  );
});

export function ConnectionList(props: { ctx: ISidebarContext; collapsed: boolean; onToggle: () => void }): JSX.Element {
  const { ctx } = props;
  const slice = useSlice(ctx.model.connections);
  return (
    <Section
      id="connections"
      title={ctx.trans.__('Connections')}
      count={slice.items.length}
      error={slice.error}
      collapsed={props.collapsed}
      onToggle={props.onToggle}
      tools={
        <ToolbarButtonComponent
          icon={addIcon}
          tooltip={ctx.trans.__('Create a connection')}
          dataset={{ action: 'create-connection' }}
          onClick={() => void ctx.commands.execute(CommandIDs.createConnection)}
        />
      }
    >
      <RowList label={ctx.trans.__('Connections')} empty={ctx.trans.__('No connections.')}>
        {slice.items.map(c => (
          <ConnectionRow key={c.id} conn={c} ctx={ctx} />
        ))}
      </RowList>
    </Section>
  );
}
