/**
 * "Run as task…" in every notebook's toolbar: saves the notebook, uploads it with its folder's
 * files as an orchestration (the `orchestration/upload_notebook` route: the notebook runs as
 * `main.ipynb`), then asks for the task as the sidebar's *New task…* does, once it is ready.
 */
import type { DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import { TranslationBundle } from '@jupyterlab/translation';
import { runIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { CommandIDs } from './commandids';

export const RUN_AS_TASK_CLASS = 'jp-orch-run-as-task';

export function runAsTaskButton(
  commands: CommandRegistry,
  trans: TranslationBundle
): DocumentRegistry.IWidgetExtension<DocumentWidget, DocumentRegistry.IModel> {
  return {
    createNew: (panel, context) => {
      const button = new ToolbarButton({
        icon: runIcon,
        label: trans.__('Run as task…'),
        className: RUN_AS_TASK_CLASS,
        tooltip: trans.__("Upload this notebook with its folder's files as an orchestration, then run it as a task"),
        onClick: () => {
          void context.save().then(() => commands.execute(CommandIDs.runNotebookAsTask, { path: context.path }));
        }
      });
      panel.toolbar.insertAfter('cellType', 'jupyter-orch:run-as-task', button);
      return button;
    }
  };
}
