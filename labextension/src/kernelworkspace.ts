/**
 * Follow the workspace the kernel switched to: `%orch workspace NAME` and the client's
 * `set_current_workspace` display a bundle with WORKSPACE_MIME; the notebook or console on
 * show passes its iopub messages here.
 * Duck-typed on `sessionContext`, so it needs neither the notebook nor the console package.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { KernelMessage } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { WORKSPACE_MIME } from './constants';

export { WORKSPACE_MIME };

interface IHasSession {
  sessionContext?: { iopubMessage?: ISignal<unknown, KernelMessage.IIOPubMessage> };
}

/** The workspace id a message announces, if it announces one. */
export function announcedWorkspace(msg: KernelMessage.IIOPubMessage): number | null {
  const type = msg.header.msg_type;
  if (type !== 'display_data' && type !== 'execute_result') {
    return null;
  }
  const data = (msg.content as { data?: Record<string, unknown> }).data;
  const value = data?.[WORKSPACE_MIME] as { id?: unknown } | undefined;
  return value && typeof value.id === 'number' ? value.id : null;
}

export function followKernelWorkspace(shell: JupyterFrontEnd.IShell, onWorkspace: (id: number) => void): void {
  let current: ISignal<unknown, KernelMessage.IIOPubMessage> | null = null;
  const slot = (_: unknown, msg: KernelMessage.IIOPubMessage) => {
    const id = announcedWorkspace(msg);
    if (id !== null) {
      onWorkspace(id);
    }
  };
  const watch = (widget: Widget | null) => {
    current?.disconnect(slot);
    current = (widget as IHasSession | null)?.sessionContext?.iopubMessage ?? null;
    current?.connect(slot);
  };
  const changed = (shell as { currentChanged?: ISignal<unknown, { newValue: Widget | null }> }).currentChanged;
  changed?.connect((_, args) => watch(args.newValue));
  watch(shell.currentWidget);
}
