import { editIcon, linkIcon, runIcon, stopIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React, { memo, useState } from 'react';
import { ITask } from '../api';
import { CommandIDs } from '../commandids';
import { cronToWords } from '../cron';
import { fullTime, relativeTime, runTypeWords, shortId, statusWords } from '../format';
import { FINISHED_TASK } from '../model';
import { ISidebarContext } from './context';
import { RowList, rowProps, Section, StatusBadge, useNow, useSignal, useSlice } from './common';
import { CHAIN_KEYS, CRONJOB, PAUSED, TASK_STATUSES } from '../constants';

const TaskRow = memo(function TaskRow(props: {
  task: ITask;
  title: string;
  selected: boolean;
  workspace: string;
  ctx: ISidebarContext;
}): JSX.Element {
  const { task, ctx, title } = props;
  const { commands, model, trans } = ctx;
  const finished = Boolean(task.killed) || FINISHED_TASK.has(task.status);
  const showNext = Boolean(task.next_run_at) && !finished;
  const now = useNow(showNext);
  const last = task.last_runs && task.last_runs.length ? task.last_runs[0] : null;
  const args = { taskId: task.id };
  const zone = task.tz || 'UTC';
  const schedule = task.run_type === CRONJOB && !finished;
  const paused = task.status === PAUSED;
  return (
    <li
      className={`jp-orch-item jp-orch-task${props.selected ? ' jp-mod-selected' : ''}`}
      data-task-id={task.id}
      data-status={task.status}
      aria-selected={props.selected}
      title={trans.__('Show the runs of this task')}
      {...rowProps(() => model.selectTask(task.id))}
    >
      <div className="jp-orch-item-main">
        <span className="jp-orch-name">{title}</span>
        <StatusBadge status={task.status} />
      </div>
      <div className="jp-orch-item-meta">
        {props.workspace ? <span className="jp-orch-workspace-name">{props.workspace}</span> : null}
        <span className="jp-orch-run-type" data-run-type={task.run_type}>
          {runTypeWords(task.run_type)}
        </span>
        {task.schedule ? (
          <span className="jp-orch-schedule" data-tz={zone} title={`${task.schedule} (${zone})`}>
            {`${cronToWords(task.schedule)} ${zone}`}
          </span>
        ) : null}
        {showNext ? (
          <span className="jp-orch-next-run" title={fullTime(task.next_run_at, ctx.zone)}>
            {`${trans.__('next')} ${relativeTime(task.next_run_at, now)}`}
          </span>
        ) : null}
        {task.max_retries && last ? (
          <span className="jp-orch-attempt" title={trans.__('Attempts of the newest run, retries included')}>
            {trans.__('attempt %1 of %2', last.attempt ?? 1, task.max_retries + 1)}
          </span>
        ) : null}
        {(CHAIN_KEYS as ('on_success' | 'on_failure')[]).map(key => {
          const body = task[key];
          return body ? (
            <span
              key={key}
              className="jp-orch-follow-up"
              data-chain={key}
              data-orch-id={body.orch_id}
              title={trans.__('Started as a new task when a run ends this way; it gets the run id as upstream_run_id')}
            >
              {`${key === 'on_success' ? trans.__('then') : trans.__('on failure')} ${body.name || model.orchestrationName(body.orch_id) || shortId(body.orch_id)}`}
            </span>
          ) : null;
        })}
        {task.upstream_run_id ? (
          <span
            className="jp-orch-upstream"
            data-run-id={task.upstream_run_id}
            title={trans.__('Started by the end of run %1', task.upstream_run_id)}
          >
            {`${trans.__('after run')} ${shortId(task.upstream_run_id)}`}
          </span>
        ) : null}
        {last ? (
          <span className="jp-orch-last-run" data-run-id={last.run_id}>
            {trans.__('last run')} <StatusBadge status={last.status} />
          </span>
        ) : null}
      </div>
      <div className="jp-orch-actions">
        <ToolbarButtonComponent
          icon={runIcon}
          label={trans.__('Run now')}
          dataset={{ action: 'run-now' }}
          tooltip={trans.__('Run once now with the same arguments (a new task)')}
          onClick={() => void commands.execute(CommandIDs.runTaskNow, args)}
        />
        {schedule ? (
          <>
            <ToolbarButtonComponent
              label={paused ? trans.__('Resume') : trans.__('Pause')}
              dataset={{ action: paused ? 'resume' : 'pause' }}
              tooltip={paused ? trans.__('Fire again from now on') : trans.__('Stop firing until resumed')}
              onClick={() => void commands.execute(paused ? CommandIDs.resumeTask : CommandIDs.pauseTask, args)}
            />
            <ToolbarButtonComponent
              icon={runIcon}
              dataset={{ action: 'run-now-with' }}
              tooltip={trans.__('Run now in this task, with arguments and timeout for that run only')}
              onClick={() => void commands.execute(CommandIDs.runScheduledNow, args)}
            />
            <ToolbarButtonComponent
              icon={editIcon}
              dataset={{ action: 'edit-schedule' }}
              tooltip={trans.__('Edit the schedule, time zone, end, arguments (keeps the runs)')}
              onClick={() => void commands.execute(CommandIDs.editSchedule, args)}
            />
          </>
        ) : null}
        {task.killed ? null : (
          <ToolbarButtonComponent
            icon={linkIcon}
            dataset={{ action: 'edit-chain' }}
            tooltip={trans.__('Choose what runs after a run succeeds or finally fails')}
            onClick={() => void commands.execute(CommandIDs.editChain, args)}
          />
        )}
        <ToolbarButtonComponent
          icon={stopIcon}
          label={trans.__('Kill')}
          className="jp-mod-warn"
          dataset={{ action: 'kill' }}
          enabled={!finished}
          tooltip={trans.__('Kill this task (and stop its schedule)')}
          disabledTooltip={trans.__('Nothing to kill')}
          onClick={() => void commands.execute(CommandIDs.killTask, args)}
        />
      </div>
    </li>
  );
});

const STATUSES = TASK_STATUSES;

export function TaskList(props: { ctx: ISidebarContext; collapsed: boolean; onToggle: () => void }): JSX.Element {
  const { ctx } = props;
  const { model, trans } = ctx;
  const slice = useSlice(model.tasks);
  useSignal(model.selectionChanged);
  useSignal(model.orchestrations.changed); // unnamed tasks show their orchestration's name
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [hideKilled, setHideKilled] = useState(false);
  const all = model.scope === 'all';
  const needle = filter.trim().toLowerCase();
  const items = slice.items
    .filter(t => !hideKilled || !(t.killed || t.status === 'killed'))
    .filter(t => !status || t.status === status)
    .filter(t => !needle || model.taskTitle(t).toLowerCase().includes(needle))
    .sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''));
  return (
    <Section
      id="tasks"
      title={trans.__('Tasks')}
      count={slice.items.length}
      error={slice.error}
      collapsed={props.collapsed}
      onToggle={props.onToggle}
    >
      <div className="jp-orch-filters">
        <input
          className="jp-orch-filter jp-mod-styled"
          type="search"
          placeholder={trans.__('Filter by name')}
          aria-label={trans.__('Filter tasks by name')}
          value={filter}
          onChange={e => setFilter(e.target.value)}
        />
        <select
          className="jp-orch-status-filter jp-mod-styled"
          aria-label={trans.__('Filter tasks by status')}
          value={status}
          onChange={e => setStatus(e.target.value)}
        >
          <option value="">{trans.__('any status')}</option>
          {STATUSES.map(s => (
            <option key={s} value={s}>
              {statusWords(s)}
            </option>
          ))}
        </select>
        <label className="jp-orch-hide-killed">
          <input type="checkbox" checked={hideKilled} onChange={e => setHideKilled(e.target.checked)} />
          {trans.__('Hide killed')}
        </label>
      </div>
      <RowList
        label={trans.__('Tasks')}
        empty={
          slice.items.length
            ? trans.__('No task matches the filter.')
            : trans.__('No tasks: run an orchestration to create one.')
        }
      >
        {items.map(t => (
          <TaskRow
            key={t.id}
            task={t}
            title={model.taskTitle(t)}
            selected={t.id === model.selectedTask}
            workspace={all ? model.workspaceName(t.workspace_id) : ''}
            ctx={ctx}
          />
        ))}
      </RowList>
    </Section>
  );
}
