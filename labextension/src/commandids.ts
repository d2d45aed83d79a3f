/** The commands of jupyter-orch (palette, context menus, sidebar buttons). */
export namespace CommandIDs {
  export const refresh = 'jupyter-orch:refresh';
  export const createWorkspace = 'jupyter-orch:create-workspace';
  export const upload = 'jupyter-orch:upload-orchestration';
  export const runOrchestration = 'jupyter-orch:run-orchestration';
  export const newTask = 'jupyter-orch:new-task';
  export const openFiles = 'jupyter-orch:open-orchestration-files';
  export const downloadZip = 'jupyter-orch:download-orchestration';
  export const runTaskNow = 'jupyter-orch:run-task-now';
  export const killTask = 'jupyter-orch:kill-task';
  export const pauseTask = 'jupyter-orch:pause-task';
  export const resumeTask = 'jupyter-orch:resume-task';
  export const editSchedule = 'jupyter-orch:edit-schedule';
  export const runScheduledNow = 'jupyter-orch:run-scheduled-now';
  export const editChain = 'jupyter-orch:edit-chain';
  export const rerunRun = 'jupyter-orch:rerun-run';
  export const openRunLog = 'jupyter-orch:open-run-log';
  export const openArtifact = 'jupyter-orch:open-artifact';
  export const runNotebookAsTask = 'jupyter-orch:run-notebook-as-task';
  export const deploy = 'jupyter-orch:deploy-pipeline';
  export const undeploy = 'jupyter-orch:undeploy-pipeline';
  export const openInferenceLog = 'jupyter-orch:open-inference-log';
  export const createConnection = 'jupyter-orch:create-connection';
  export const deleteConnection = 'jupyter-orch:delete-connection';
  export const showSidebar = 'jupyter-orch:show-sidebar';
}
