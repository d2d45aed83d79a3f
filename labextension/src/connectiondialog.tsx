/** The "New connection" dialog: name, type and details (JSON, shown as typed only here). */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

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
  const [draft, setDraft] = useState(props.draft);
  const update = (fields: Partial<IConnectionDraft>) => {
    const next = { ...draft, ...fields };
    Object.assign(props.draft, next);
    setDraft(next);
  };
  const problem = connectionProblem(draft);
  return (
    <div className="jp-orch-task-form">
      <label>
        {trans.__('Name')}
        <input
          className="jp-mod-styled"
          name="name"
          value={draft.name}
          onChange={e => update({ name: e.target.value })}
        />
      </label>
      <label>
        {trans.__('Type')}
        <input
          className="jp-mod-styled"
          name="type"
          value={draft.type}
          onChange={e => update({ type: e.target.value })}
        />
      </label>
      <label>
        {trans.__('Details (JSON; hidden once saved)')}
        <textarea
          className="jp-mod-styled"
          name="details"
          rows={4}
          value={draft.details}
          onChange={e => update({ details: e.target.value })}
        />
      </label>
      {problem ? <div className="jp-orch-error">{problem}</div> : null}
    </div>
  );
}

export async function askNewConnection(
  trans: TranslationBundle
): Promise<{ name: string; type: string; details: Record<string, unknown> } | null> {
  const draft: IConnectionDraft = { name: '', type: 'HTTP', details: '{}' };
  for (;;) {
    const result = await showDialog({
      title: trans.__('New connection'),
      body: ReactWidget.create(<ConnectionForm draft={draft} trans={trans} />),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Create') })]
    });
    if (!result.button.accept) {
      return null;
    }
    if (!connectionProblem(draft)) {
      return { name: draft.name.trim(), type: draft.type.trim(), details: JSON.parse(draft.details || '{}') };
    }
  }
}
