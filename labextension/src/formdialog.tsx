/**
 * What the "New task" and "New connection" dialogs share: a draft the form edits in place,
 * labelled text fields, and a dialog shown again until its form is valid or cancelled.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

/** Edit `draft` in place (the dialog reads it once closed) and re-render. */
export function useDraft<T extends object>(draft: T): [T, (fields: Partial<T>) => void] {
  const [value, setValue] = useState(draft);
  const update = (fields: Partial<T>) => {
    const next = { ...value, ...fields };
    Object.assign(draft, next);
    setValue(next);
  };
  return [value, update];
}

export function TextField(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  invalid?: boolean;
  rows?: number;
}): JSX.Element {
  const common = {
    className: 'jp-mod-styled',
    name: props.name,
    value: props.value,
    'aria-invalid': Boolean(props.invalid)
  };
  return (
    <label>
      {props.label}
      {props.rows ? (
        <textarea {...common} rows={props.rows} onChange={e => props.onChange(e.target.value)} />
      ) : (
        <input {...common} onChange={e => props.onChange(e.target.value)} />
      )}
    </label>
  );
}

/** Show the form until it is accepted while valid (true) or cancelled (false). */
export async function askUntilValid(options: {
  title: string;
  okLabel: string;
  form: () => JSX.Element;
  isValid: () => boolean;
  trans: TranslationBundle;
}): Promise<boolean> {
  for (;;) {
    const result = await showDialog({
      title: options.title,
      body: ReactWidget.create(options.form()),
      buttons: [Dialog.cancelButton({ label: options.trans.__('Cancel') }), Dialog.okButton({ label: options.okLabel })]
    });
    if (!result.button.accept) {
      return false;
    }
    if (options.isValid()) {
      return true;
    }
  }
}
