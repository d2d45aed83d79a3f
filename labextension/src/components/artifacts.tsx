/**
 * A run's artifacts under its row: the files it wrote under `outputs/`, each opened in a
 * browser tab or downloaded; a notebook opens in JupyterLab (a copy in the file browser).
 */
import React, { useEffect, useState } from 'react';
import * as api from '../api';
import { CommandIDs } from '../commandids';
import { sizeWords } from '../format';
import { ISidebarContext } from './context';

export function RunArtifacts(props: { runId: string; ctx: ISidebarContext }): JSX.Element {
  const { runId, ctx } = props;
  const { trans } = ctx;
  const [items, setItems] = useState<api.IArtifact[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState('');

  const load = (after: string | null) =>
    api
      .listRunArtifacts(runId, after)
      .then(page => {
        setItems(shown => [...(after ? (shown ?? []) : []), ...page.artifacts]);
        setCursor(page.cursor);
      })
      .catch(e => setError(api.messageOf(e)));

  useEffect(() => {
    void load(null);
  }, [runId]);

  // Clicks and keys here are the links', not the run row's (which opens the log).
  const own = (e: React.SyntheticEvent) => e.stopPropagation();
  return (
    <div className="jp-orch-artifacts" data-run-id={runId} onClick={own} onKeyDown={own}>
      {error ? <div className="jp-orch-error">{error}</div> : null}
      {items === null ? (
        error ? null : (
          <span className="jp-orch-empty">{trans.__('Loading…')}</span>
        )
      ) : items.length === 0 ? (
        <span className="jp-orch-empty">{trans.__('No artifacts: the run wrote nothing under outputs/.')}</span>
      ) : (
        <ul className="jp-orch-artifact-list" aria-label={trans.__('Artifacts')}>
          {items.map(a => (
            <li key={a.path} className="jp-orch-artifact" data-path={a.path}>
              {a.path.endsWith('.ipynb') ? (
                <button
                  className="jp-orch-link"
                  data-action="open-artifact"
                  title={trans.__('Open a copy of this notebook in JupyterLab')}
                  onClick={() => void ctx.commands.execute(CommandIDs.openArtifact, { runId, path: a.path })}
                >
                  {a.path}
                </button>
              ) : (
                <a
                  className="jp-orch-link"
                  data-action="open-artifact"
                  href={api.artifactUrl(runId, a.path)}
                  target="_blank"
                  rel="noopener noreferrer"
                  title={trans.__('Open in a browser tab')}
                >
                  {a.path}
                </a>
              )}
              <span className="jp-orch-file-size">{sizeWords(a.size)}</span>
              <a
                className="jp-orch-link"
                data-action="download-artifact"
                href={api.artifactUrl(runId, a.path, true)}
                download={a.path.split('/').pop()}
              >
                {trans.__('download')}
              </a>
            </li>
          ))}
        </ul>
      )}
      {cursor ? (
        <button className="jp-orch-link jp-orch-more" data-action="more-artifacts" onClick={() => void load(cursor)}>
          {trans.__('Show more')}
        </button>
      ) : null}
    </div>
  );
}
