import { folderIcon, refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React, { memo, useState } from 'react';
import { IRun } from '../api';
import { CommandIDs } from '../commandids';
import { durationBetween, exitWords, shortId } from '../format';
import { RunArtifacts } from './artifacts';
import { ISidebarContext } from './context';
import { RowList, rowProps, Section, StatusBadge, Time, useNow, useSignal, useSlice } from './common';
import { RUN_ENDED, SERVICE } from '../constants';

const ACTIVE = new Set(['pending', 'running']);
const ENDED = new Set(RUN_ENDED);

const RunRow = memo(function RunRow(props: {
  run: IRun;
  taskTitle: string;
  rerunnable: boolean;
  ctx: ISidebarContext;
}): JSX.Element {
  const { run, ctx } = props;
  const start = run.started_at ?? run.created_at ?? null;
  const running = ACTIVE.has(run.status) && !run.ended_at;
  const now = useNow(running && Boolean(start));
  const [artifactsShown, setArtifactsShown] = useState(false);
  const open = () =>
    void ctx.commands.execute(CommandIDs.openRunLog, { runId: run.run_id, taskId: run.task, title: props.taskTitle });
  const engine = run.engine_id ? ctx.trans.__(' (run by engine %1)', shortId(run.engine_id)) : '';
  return (
    <li
      className="jp-orch-item jp-orch-run"
      data-run-id={run.run_id}
      data-status={run.status}
      title={ctx.trans.__('Open the log of this run') + engine}
      {...rowProps(open)}
    >
      <div className="jp-orch-item-main">
        <span className="jp-orch-name">{`${ctx.trans.__('run')} ${shortId(run.run_id)}`}</span>
        <StatusBadge status={run.status} />
      </div>
      <div className="jp-orch-item-meta">
        <Time value={start} zone={ctx.zone} prefix={ctx.trans.__('started ')} />
        {start ? <span className="jp-orch-duration">{durationBetween(start, run.ended_at, now)}</span> : null}
        {run.exit_code !== undefined && run.exit_code !== null ? (
          <span className="jp-orch-exit-code">{exitWords(run.exit_code)}</span>
        ) : null}
        {run.worker ? (
          <span className="jp-orch-worker" title={ctx.trans.__('The Dask worker it ran on')}>
            {ctx.trans.__('on %1', run.worker.replace(/^[a-z]+:\/\//, ''))}
          </span>
        ) : null}
        {run.retry_of ? (
          <span className="jp-orch-attempt">{`${ctx.trans.__('attempt')} ${run.attempt ?? 1}`}</span>
        ) : null}
        {run.rerun_of ? (
          <span className="jp-orch-rerun-of">{`${ctx.trans.__('re-run of')} ${shortId(run.rerun_of)}`}</span>
        ) : null}
        {run.follow_up_task_id ? (
          <span className="jp-orch-started-task" data-task-id={run.follow_up_task_id}>
            {`${ctx.trans.__('started task')} ${shortId(run.follow_up_task_id)}`}
          </span>
        ) : null}
      </div>
      {ENDED.has(run.status) ? (
        <div className="jp-orch-actions">
          {props.rerunnable ? (
            <ToolbarButtonComponent
              icon={refreshIcon}
              label={ctx.trans.__('Re-run')}
              dataset={{ action: 'rerun' }}
              tooltip={ctx.trans.__('Run again with the arguments and timeout it ran with')}
              onClick={() => void ctx.commands.execute(CommandIDs.rerunRun, { runId: run.run_id })}
            />
          ) : null}
          <ToolbarButtonComponent
            icon={folderIcon}
            label={ctx.trans.__('Artifacts')}
            dataset={{ action: 'artifacts' }}
            pressed={artifactsShown}
            tooltip={ctx.trans.__('The files this run wrote under outputs/')}
            onClick={() => setArtifactsShown(shown => !shown)}
          />
        </div>
      ) : null}
      {artifactsShown ? <RunArtifacts runId={run.run_id} ctx={ctx} /> : null}
    </li>
  );
});

export function RunList(props: { ctx: ISidebarContext; collapsed: boolean; onToggle: () => void }): JSX.Element {
  const { ctx } = props;
  const { model, trans } = ctx;
  const slice = useSlice(model.runs);
  useSignal(model.selectionChanged);
  useSignal(model.tasks.changed);
  const task = model.selectedTask ? model.tasks.get(model.selectedTask) : undefined;
  const title = task ? model.taskTitle(task) : '';
  // A continuous task's runs restart by themselves, and a killed task runs no more.
  const rerunnable = Boolean(task && !task.killed && task.run_type !== SERVICE);
  const more = slice.items.length >= model.runLimit;
  return (
    <Section
      id="runs"
      title={task ? trans.__('Runs of %1', title) : trans.__('Runs')}
      count={slice.items.length}
      error={slice.error}
      collapsed={props.collapsed}
      onToggle={props.onToggle}
    >
      <RowList
        label={trans.__('Runs')}
        empty={
          model.selectedTask
            ? slice.loaded
              ? trans.__('No runs yet.')
              : trans.__('Loading…')
            : trans.__('Select a task to see its runs.')
        }
      >
        {slice.items.map(r => (
          <RunRow key={r.run_id} run={r} taskTitle={title} rerunnable={rerunnable} ctx={ctx} />
        ))}
      </RowList>
      {more ? (
        <button className="jp-orch-link jp-orch-more" data-action="more-runs" onClick={() => model.loadMoreRuns()}>
          {trans.__('Show older runs')}
        </button>
      ) : null}
    </Section>
  );
}
