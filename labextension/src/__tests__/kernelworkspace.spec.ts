import { KernelMessage } from '@jupyterlab/services';
import { announcedWorkspace, WORKSPACE_MIME } from '../kernelworkspace';

const message = (msgType: string, data: Record<string, unknown>) =>
  ({ header: { msg_type: msgType }, content: { data } }) as unknown as KernelMessage.IIOPubMessage;

describe("the kernel's workspace", () => {
  it('is read from what `%orch workspace` displays', () => {
    expect(announcedWorkspace(message('execute_result', { [WORKSPACE_MIME]: { id: 7, name: 'team' } }))).toBe(7);
    expect(announcedWorkspace(message('display_data', { [WORKSPACE_MIME]: { id: 3 } }))).toBe(3);
  });
  it('ignores every other output', () => {
    expect(announcedWorkspace(message('execute_result', { 'text/plain': 'x' }))).toBeNull();
    expect(announcedWorkspace(message('stream', { [WORKSPACE_MIME]: { id: 3 } }))).toBeNull();
    expect(announcedWorkspace(message('display_data', { [WORKSPACE_MIME]: { id: 'x' } }))).toBeNull();
  });
});
