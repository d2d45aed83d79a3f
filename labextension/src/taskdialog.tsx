/**
 * The "New task" dialog: name, JSON arguments (checked as typed), timeout, and once /
 * on a schedule (its time zone, end date and run cap, with the next five fires as the server
 * works them out) / continuously. The "Edit schedule" dialog is the same form for a
 * scheduled task that exists.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useState } from 'react';
import { IChain, IFollowUp, INewTask, IScheduleControls, IScheduleEdit, ITask, nextFires } from './api';
import { cronToWords, isCronReadable } from './cron';
import { askUntilValid, TextField, useDraft } from './formdialog';
import { fullTime, Zone } from './format';

export interface ITaskDraft {
  name: string;
  args: string;
  timeout: string;
  mode: INewTask['mode'];
  schedule: string;
  tz: string;
  endDate: string;
  maxRuns: string;
  retries: string;
  retryDelay: string;
  /** Follow-ups: the orchestration id started when a run succeeds / finally fails ('' = none). */
  onSuccess: string;
  onFailure: string;
}

/** An orchestration a new task may chain to. */
export interface IFollowUpChoice {
  id: string;
  name: string;
}

const END_DATE = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d)?)?$/;

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The draft's time zone, end and run cap as the API takes them. */
export function scheduleControls(d: ITaskDraft): IScheduleControls {
  return {
    tz: d.tz.trim() || null,
    end_date: d.endDate.trim() || null,
    max_runs: d.maxRuns.trim() ? Number(d.maxRuns) : null
  };
}

/** What is wrong with a draft, field by field (empty when it can be sent). */
export function draftProblems(d: ITaskDraft): Partial<Record<keyof ITaskDraft, string>> {
  const problems: Partial<Record<keyof ITaskDraft, string>> = {};
  try {
    const parsed = d.args.trim() ? JSON.parse(d.args) : {};
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.args = 'The arguments must be a JSON object, like {"n": 3}.';
    }
  } catch (e) {
    problems.args = `Not valid JSON: ${(e as Error).message}`;
  }
  if (d.timeout.trim() && !(Number(d.timeout) > 0)) {
    problems.timeout = 'The timeout is a number of seconds above 0.';
  }
  if (d.mode === 'schedule' && !isCronReadable(d.schedule)) {
    problems.schedule = 'Not a schedule: use 5-field cron (*/5 * * * *) or @hourly, @daily…';
  }
  if (d.mode === 'schedule' && d.tz.trim() && !isTimeZone(d.tz.trim())) {
    problems.tz = 'Not a time zone: use an IANA name such as Europe/Paris, or UTC.';
  }
  if (d.mode === 'schedule' && d.endDate.trim() && !END_DATE.test(d.endDate.trim())) {
    problems.endDate = 'The end date is a date and time such as 2026-12-31T23:00.';
  }
  if (d.mode !== 'continuous' && d.retries.trim() && !(Number.isInteger(Number(d.retries)) && Number(d.retries) >= 0)) {
    problems.retries = 'Retries is a whole number, 0 or more.';
  }
  if (d.mode !== 'continuous' && d.retryDelay.trim() && !(Number(d.retryDelay) > 0)) {
    problems.retryDelay = 'The retry delay is a number of seconds above 0.';
  }
  if (d.mode === 'schedule' && d.maxRuns.trim() && !(Number.isInteger(Number(d.maxRuns)) && Number(d.maxRuns) > 0)) {
    problems.maxRuns = 'The maximum number of runs is a whole number above 0.';
  }
  return problems;
}

/** The next fires of the draft's schedule, asked of the server as the fields change. */
function useFires(draft: ITaskDraft, ready: boolean): { fires: Date[]; error: string } {
  const [answer, setAnswer] = useState<{ fires: Date[]; error: string }>({ fires: [], error: '' });
  const controls = scheduleControls(draft);
  useEffect(() => {
    if (!ready) {
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      nextFires({ schedule: draft.schedule, ...controls })
        .then(fires => live && setAnswer({ fires, error: '' }))
        .catch(e => live && setAnswer({ fires: [], error: (e as Error).message }));
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [ready, draft.schedule, controls.tz, controls.end_date, controls.max_runs]);
  return answer;
}

function FollowUpField(props: {
  label: string;
  name: 'onSuccess' | 'onFailure';
  value: string;
  choices: IFollowUpChoice[];
  none: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <label>
      {props.label}
      <select
        className="jp-mod-styled"
        name={props.name}
        value={props.value}
        onChange={e => props.onChange(e.target.value)}
      >
        <option value="">{props.none}</option>
        {props.choices.map(c => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function ChainFields(props: {
  draft: ITaskDraft;
  update: (fields: Partial<ITaskDraft>) => void;
  followUps: IFollowUpChoice[];
  trans: TranslationBundle;
}): JSX.Element {
  const { trans, draft, update } = props;
  return (
    <fieldset className="jp-orch-follow-ups">
      <legend>{trans.__('Then (a new run-once task, given the run id as upstream_run_id)')}</legend>
      <FollowUpField
        label={trans.__('When a run succeeds, run')}
        name="onSuccess"
        value={draft.onSuccess}
        choices={props.followUps}
        none={trans.__('nothing')}
        onChange={onSuccess => update({ onSuccess })}
      />
      <FollowUpField
        label={trans.__('When a run finally fails, run')}
        name="onFailure"
        value={draft.onFailure}
        choices={props.followUps}
        none={trans.__('nothing')}
        onChange={onFailure => update({ onFailure })}
      />
    </fieldset>
  );
}

function ChainForm(props: { draft: ITaskDraft; followUps: IFollowUpChoice[]; trans: TranslationBundle }): JSX.Element {
  const [draft, update] = useDraft(props.draft);
  return <ChainFields draft={draft} update={update} followUps={props.followUps} trans={props.trans} />;
}

function TaskForm(props: {
  draft: ITaskDraft;
  zone: Zone;
  trans: TranslationBundle;
  editing?: boolean;
  followUps?: IFollowUpChoice[];
}): JSX.Element {
  const { trans } = props;
  const [draft, update] = useDraft(props.draft);
  const problems = draftProblems(draft);
  const scheduled = draft.mode === 'schedule';
  const ready = scheduled && !problems.schedule && !problems.tz && !problems.endDate && !problems.maxRuns;
  const { fires, error } = useFires(draft, ready);
  const problem = (field: keyof ITaskDraft) =>
    problems[field] ? (
      <div className="jp-orch-error" data-field={field}>
        {problems[field]}
      </div>
    ) : null;
  return (
    <div className="jp-orch-task-form">
      {props.editing ? null : (
        <TextField label={trans.__('Name')} name="name" value={draft.name} onChange={name => update({ name })} />
      )}
      <TextField
        label={trans.__('Arguments (JSON)')}
        name="args"
        rows={3}
        value={draft.args}
        invalid={Boolean(problems.args)}
        onChange={args => update({ args })}
      />
      {problem('args')}
      <fieldset className="jp-orch-task-mode" hidden={props.editing}>
        <legend>{trans.__('Runs')}</legend>
        {(['once', 'schedule', 'continuous'] as const).map(mode => (
          <label key={mode}>
            <input
              type="radio"
              name="mode"
              value={mode}
              checked={draft.mode === mode}
              onChange={() => update({ mode })}
            />
            {mode === 'once'
              ? trans.__('once')
              : mode === 'schedule'
                ? trans.__('on a schedule')
                : trans.__('continuously')}
          </label>
        ))}
      </fieldset>
      {draft.mode === 'schedule' ? (
        <>
          <TextField
            label={trans.__('Schedule (cron)')}
            name="schedule"
            value={draft.schedule}
            invalid={Boolean(problems.schedule)}
            onChange={schedule => update({ schedule })}
          />
          {problem('schedule')}
          <TextField
            label={trans.__('Time zone (IANA, e.g. Europe/Paris)')}
            name="tz"
            value={draft.tz}
            invalid={Boolean(problems.tz)}
            onChange={tz => update({ tz })}
          />
          {problem('tz')}
          <TextField
            label={trans.__('End date (optional, in that zone)')}
            name="endDate"
            value={draft.endDate}
            invalid={Boolean(problems.endDate)}
            onChange={endDate => update({ endDate })}
          />
          {problem('endDate')}
          <TextField
            label={trans.__('Maximum runs (optional)')}
            name="maxRuns"
            value={draft.maxRuns}
            invalid={Boolean(problems.maxRuns)}
            onChange={maxRuns => update({ maxRuns })}
          />
          {problem('maxRuns')}
          {ready ? (
            <div className="jp-orch-fires">
              <div className="jp-orch-schedule-words">{`${cronToWords(draft.schedule)} ${draft.tz.trim() || 'UTC'}`}</div>
              {error ? (
                <div className="jp-orch-error" data-field="fires">
                  {error}
                </div>
              ) : (
                <>
                  <div>{trans.__('Next fires:')}</div>
                  <ol>
                    {fires.map(d => (
                      <li key={d.getTime()}>{fullTime(d, props.zone)}</li>
                    ))}
                  </ol>
                  {fires.length ? null : <div>{trans.__('This schedule does not fire again.')}</div>}
                </>
              )}
            </div>
          ) : null}
        </>
      ) : null}
      {draft.mode !== 'continuous' ? (
        <TextField
          label={trans.__('Timeout (seconds, optional)')}
          name="timeout"
          value={draft.timeout}
          invalid={Boolean(problems.timeout)}
          onChange={timeout => update({ timeout })}
        />
      ) : null}
      {problem('timeout')}
      {draft.mode !== 'continuous' && !props.editing ? (
        <>
          <TextField
            label={trans.__('Retries of a failed run (optional)')}
            name="retries"
            value={draft.retries}
            invalid={Boolean(problems.retries)}
            onChange={retries => update({ retries })}
          />
          {problem('retries')}
          <TextField
            label={trans.__('First retry after (seconds, doubling; default 10)')}
            name="retryDelay"
            value={draft.retryDelay}
            invalid={Boolean(problems.retryDelay)}
            onChange={retryDelay => update({ retryDelay })}
          />
          {problem('retryDelay')}
        </>
      ) : null}
      {props.followUps && props.followUps.length ? (
        <ChainFields draft={draft} update={update} followUps={props.followUps} trans={trans} />
      ) : null}
    </div>
  );
}

/**
 * Ask for a new task of an orchestration; null when cancelled. An invalid form is shown
 * again, with what is wrong, until it is fixed or cancelled.
 */
export async function askNewTask(
  orchestration: { id: string; name: string; workspaceId: number },
  zone: Zone,
  trans: TranslationBundle,
  followUps: IFollowUpChoice[] = []
): Promise<INewTask | null> {
  const draft: ITaskDraft = {
    name: orchestration.name,
    args: '{}',
    timeout: '',
    mode: 'once',
    schedule: '*/5 * * * *',
    tz: 'UTC',
    endDate: '',
    maxRuns: '',
    retries: '',
    retryDelay: '',
    onSuccess: '',
    onFailure: ''
  };
  const ok = await askUntilValid({
    title: trans.__('New task of %1', orchestration.name),
    okLabel: trans.__('Start'),
    form: () => <TaskForm draft={draft} zone={zone} trans={trans} followUps={followUps} />,
    isValid: () => Object.keys(draftProblems(draft)).length === 0,
    trans
  });
  if (!ok) {
    return null;
  }
  return {
    workspaceId: orchestration.workspaceId,
    orchId: orchestration.id,
    name: draft.name.trim() || undefined,
    json: draft.args.trim() ? JSON.parse(draft.args) : {},
    timeout: draft.timeout.trim() ? Number(draft.timeout) : null,
    mode: draft.mode,
    schedule: draft.schedule.trim(),
    controls: scheduleControls(draft),
    retries: {
      max_retries: draft.retries.trim() ? Number(draft.retries) : null,
      retry_delay: draft.retryDelay.trim() ? Number(draft.retryDelay) : null
    },
    chain: {
      on_success: draft.onSuccess ? { orch_id: draft.onSuccess } : null,
      on_failure: draft.onFailure ? { orch_id: draft.onFailure } : null
    }
  };
}

/** A draft of an existing task's form: its arguments and timeout, and `fields` over the rest. */
function draftOf(task: ITask, title: string, fields: Partial<ITaskDraft>): ITaskDraft {
  return {
    name: title,
    args: JSON.stringify(task.input_data ?? {}),
    timeout: task.timeout ? String(task.timeout) : '',
    mode: 'once',
    schedule: '',
    tz: '',
    endDate: '',
    maxRuns: '',
    retries: '',
    retryDelay: '',
    onSuccess: '',
    onFailure: '',
    ...fields
  };
}

/** Show an existing task's form until it is valid; false when cancelled. */
function askDraft(draft: ITaskDraft, title: string, okLabel: string, zone: Zone, trans: TranslationBundle) {
  return askUntilValid({
    title,
    okLabel,
    form: () => <TaskForm draft={draft} zone={zone} trans={trans} editing />,
    isValid: () => Object.keys(draftProblems(draft)).length === 0,
    trans
  });
}

/**
 * Ask for new values of a scheduled task's schedule, time zone, end, run cap, arguments and
 * timeout (the task keeps its id and runs); null when cancelled.
 */
export async function askScheduleEdit(
  task: ITask,
  title: string,
  zone: Zone,
  trans: TranslationBundle
): Promise<IScheduleEdit | null> {
  const draft = draftOf(task, title, {
    mode: 'schedule',
    schedule: task.schedule ?? '',
    tz: task.tz ?? 'UTC',
    endDate: task.end_date ? wallClock(task.end_date, task.tz ?? 'UTC') : '',
    maxRuns: task.max_runs ? String(task.max_runs) : ''
  });
  if (!(await askDraft(draft, trans.__('Edit the schedule of %1', title), trans.__('Save'), zone, trans))) {
    return null;
  }
  return {
    schedule: draft.schedule.trim(),
    json: draft.args.trim() ? JSON.parse(draft.args) : {},
    timeout: draft.timeout.trim() ? Number(draft.timeout) : null,
    ...scheduleControls(draft)
  };
}

/**
 * Ask for the arguments and timeout of one run of a scheduled task, run now beside its schedule
 * (its own are the defaults); null when cancelled.
 */
export async function askRunNow(
  task: ITask,
  title: string,
  zone: Zone,
  trans: TranslationBundle
): Promise<{ json: unknown; timeout: number | null } | null> {
  const draft = draftOf(task, title, { mode: 'once' });
  if (!(await askDraft(draft, trans.__('Run %1 now', title), trans.__('Run'), zone, trans))) {
    return null;
  }
  return {
    json: draft.args.trim() ? JSON.parse(draft.args) : {},
    timeout: draft.timeout.trim() ? Number(draft.timeout) : null
  };
}

/** A chosen follow-up orchestration as a body: the one there was when it is the same (its name and arguments kept). */
function followUpOf(orchId: string, before: IFollowUp | null | undefined): IFollowUp | null {
  if (!orchId) {
    return null;
  }
  return before && before.orch_id === orchId ? before : { orch_id: orchId };
}

/** Ask for a task's new follow-ups (success, failure) among `followUps`; null when cancelled. */
export async function askChainEdit(
  task: ITask,
  title: string,
  followUps: IFollowUpChoice[],
  trans: TranslationBundle
): Promise<IChain | null> {
  const current = [task.on_success, task.on_failure].filter((b): b is IFollowUp => Boolean(b));
  const known = new Set(followUps.map(c => c.id));
  // A follow-up set elsewhere (another state of the orchestrations) stays choosable.
  const choices = [
    ...followUps,
    ...current.filter(b => !known.has(b.orch_id)).map(b => ({ id: b.orch_id, name: b.name || b.orch_id }))
  ];
  const draft = draftOf(task, title, {
    onSuccess: task.on_success?.orch_id ?? '',
    onFailure: task.on_failure?.orch_id ?? ''
  });
  const ok = await askUntilValid({
    title: trans.__('Follow-ups of %1', title),
    okLabel: trans.__('Save'),
    form: () => <ChainForm draft={draft} followUps={choices} trans={trans} />,
    isValid: () => true,
    trans
  });
  if (!ok) {
    return null;
  }
  return {
    on_success: followUpOf(draft.onSuccess, task.on_success),
    on_failure: followUpOf(draft.onFailure, task.on_failure)
  };
}

/** `2026-12-31 23:00:00`: an instant on the wall clock of `tz` (the end date field's form). */
function wallClock(iso: string, tz: string): string {
  const parts = new Intl.DateTimeFormat('sv-SE', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23'
  });
  return parts.format(new Date(iso));
}
