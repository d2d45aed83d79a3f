// Statuses and run types the server answers with: a copy of jupyter_orch/constants.py, which
// tests/ui/test_constants.py checks this file against.

export const WORKSPACE_MIME = 'application/vnd.jupyter-orch.workspace+json';

export const ONESHOT = 'Oneshot';
export const CRONJOB = 'CronJob';
export const SERVICE = 'NetworkService';

export const TASK_STATUSES = [
  'pending',
  'started',
  'paused',
  'success',
  'failed',
  'timed_out',
  'pending_kill',
  'killed'
];
export const TASK_TERMINAL = ['success', 'failed', 'timed_out', 'killed'];
export const PENDING_KILL = 'pending_kill';
export const PAUSED = 'paused';
export const TASK_ACTIVE = ['pending', 'started', 'pending_kill'];
export const RUN_ENDED = ['success', 'failure', 'timed_out', 'killed'];
export const RUN_FAILED = ['failure', 'timed_out'];
export const RUN_SKIPPED = 'skipped';
export const CHAIN_KEYS = ['on_success', 'on_failure'];

export const PIPELINE_RUNNING = 'Running';
export const PIPELINE_STARTING = 'Starting';
export const PIPELINE_ERROR = 'Error';
export const PIPELINE_UNDEPLOYED = 'Undeployed';
