/**
 * An orchestration's files in the main area: the list of what its zip holds, the
 * entrypoint (`main.py`) shown at once, any other text file on a click, and downloads.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { downloadIcon, ReactWidget, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';
import * as api from './api';
import { downloadUrl } from './download';
import { humanMessage, sizeWords } from './format';

const SHOWN_BYTES = 512 * 1024;

function OrchestrationFiles(props: {
  orch: api.IOrchestration & { entrypoint?: string };
  trans: TranslationBundle;
}): JSX.Element {
  const { orch, trans } = props;
  const [files, setFiles] = useState<api.IOrchFile[]>([]);
  const [shown, setShown] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    api
      .listOrchestrationFiles(orch.id)
      .then(list => {
        setFiles(list);
        const entry = list.find(f => f.path === orch.entrypoint) ?? list.find(f => f.path.endsWith('main.py'));
        setShown(entry ? entry.path : null);
      })
      .catch(e => setError(api.messageOf(e)));
  }, [orch.id]);

  useEffect(() => {
    const file = files.find(f => f.path === shown);
    if (!file) {
      return;
    }
    if (file.size > SHOWN_BYTES) {
      setText(trans.__('(too large to show here: download it)'));
      return;
    }
    api
      .readOrchestrationFile(orch.id, file.path)
      .then(setText)
      .catch(e => setError(api.messageOf(e)));
  }, [shown, files]);

  return (
    <div className="jp-orch-files" data-orch-id={orch.id}>
      <div className="jp-orch-inference-toolbar">
        <span className="jp-orch-logview-title">{orch.name || orch.file_name}</span>
        <ToolbarButtonComponent
          icon={downloadIcon}
          label={trans.__('Download zip')}
          dataset={{ action: 'download-zip' }}
          onClick={() => downloadUrl(api.orchestrationFileUrl(orch.id), orch.file_name || `${orch.id}.zip`)}
        />
      </div>
      {orch.error ? <div className="jp-orch-error">{humanMessage(orch.error)}</div> : null}
      {error ? <div className="jp-orch-error">{error}</div> : null}
      <div className="jp-orch-files-body">
        <ul className="jp-orch-list jp-orch-file-list" aria-label={trans.__('Files')}>
          {files.map(f => (
            <li
              key={f.path}
              className={`jp-orch-item jp-orch-file${f.path === shown ? ' jp-mod-selected' : ''}`}
              data-path={f.path}
              tabIndex={0}
              onClick={() => setShown(f.path)}
              onKeyDown={e => e.key === 'Enter' && setShown(f.path)}
            >
              <span className="jp-orch-name">{f.path}</span>
              <span className="jp-orch-file-size">{sizeWords(f.size)}</span>
              <a
                className="jp-orch-link"
                href={`${api.orchestrationFileUrl(orch.id, f.path)}&download=1`}
                download={f.path.split('/').pop()}
                title={trans.__('Download')}
              >
                ⤓
              </a>
            </li>
          ))}
        </ul>
        {shown ? (
          <div className="jp-orch-file-view">
            <div className="jp-orch-file-name">{shown}</div>
            <pre className="jp-orch-file-text">{text}</pre>
          </div>
        ) : null}
      </div>
    </div>
  );
}

export class OrchestrationFilesView extends ReactWidget {
  constructor(
    private readonly _orch: api.IOrchestration,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-orch-files-widget');
  }

  protected render(): JSX.Element {
    return <OrchestrationFiles orch={this._orch} trans={this._trans} />;
  }
}
