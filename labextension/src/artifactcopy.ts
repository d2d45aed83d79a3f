/**
 * A run's notebook artifact opened in JupyterLab: copied into the server's contents as
 * `orch-artifacts/<run id>/<name>.ipynb` (the run's own file stays as it was), so it opens,
 * reads and re-runs like any notebook.
 */
import { Contents } from '@jupyterlab/services';
import * as api from './api';

export const ARTIFACT_COPIES = 'orch-artifacts';

async function ensureFolder(contents: Contents.IManager, path: string): Promise<void> {
  try {
    await contents.get(path, { content: false });
  } catch {
    await contents.save(path, { type: 'directory' });
  }
}

/** Copy the run's notebook into the contents; answers the copy's path. */
export async function copyNotebookArtifact(contents: Contents.IManager, runId: string, path: string): Promise<string> {
  const text = await api.readArtifact(runId, path);
  const folder = `${ARTIFACT_COPIES}/${runId}`;
  await ensureFolder(contents, ARTIFACT_COPIES);
  await ensureFolder(contents, folder);
  const target = `${folder}/${path.split('/').pop()}`;
  await contents.save(target, { type: 'notebook', format: 'json', content: JSON.parse(text) });
  return target;
}
