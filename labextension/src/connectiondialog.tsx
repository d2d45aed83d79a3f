/** The "New connection" dialog: name, type and details (JSON, shown as typed only here). */
import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import { askUntilValid, TextField, useDraft } from './formdialog';

export interface IConnectionDraft {
  name: string;
  type: string;
  details: string;
}

export function connectionProblem(d: IConnectionDraft): string {
  if (!d.name.trim()) {
    return 'A connection needs a name.';
  }
  if (!d.type.trim()) {
    return 'A connection needs a type (e.g. HTTP, ODBC, KAFKA).';
  }
  try {
    const details = JSON.parse(d.details || '{}');
    if (details === null || typeof details !== 'object' || Array.isArray(details)) {
      return 'The details must be a JSON object.';
    }
  } catch (e) {
    return `The details are not valid JSON: ${(e as Error).message}`;
  }
  return '';
}

function ConnectionForm(props: { draft: IConnectionDraft; trans: TranslationBundle }): JSX.Element {
  const { trans } = props;
  const [draft, update] = useDraft(props.draft);
  const problem = connectionProblem(draft);
  return (
    <div className="jp-orch-task-form">
      <TextField label={trans.__('Name')} name="name" value={draft.name} onChange={name => update({ name })} />
      <TextField label={trans.__('Type')} name="type" value={draft.type} onChange={type => update({ type })} />
      <TextField
        label={trans.__('Details (JSON; hidden once saved)')}
        name="details"
        rows={4}
        value={draft.details}
        onChange={details => update({ details })}
      />
      {problem ? <div className="jp-orch-error">{problem}</div> : null}
    </div>
  );
}

export async function askNewConnection(
  trans: TranslationBundle
): Promise<{ name: string; type: string; details: Record<string, unknown> } | null> {
  const draft: IConnectionDraft = { name: '', type: 'HTTP', details: '{}' };
  const ok = await askUntilValid({
    title: trans.__('New connection'),
    okLabel: trans.__('Create'),
    form: () => <ConnectionForm draft={draft} trans={trans} />,
    isValid: () => !connectionProblem(draft),
    trans
  });
  return ok ? { name: draft.name.trim(), type: draft.type.trim(), details: JSON.parse(draft.details || '{}') } : null;
}
