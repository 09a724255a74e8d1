// NOTIFY channels Rebound uses. Notifications are latency hints; consumers also poll.

/** New executor work is due now. */
export const WORK_CHANNEL = 'rebound_work';
/** Tasks were offered to workers; payload: the task type. */
export const TASK_CHANNEL = 'rebound_tasks';
/** A flow reached a terminal status; payload: the flow id. */
export const FLOW_CHANNEL = 'rebound_flows';
/** Error patterns changed; payload: the registry version. */
export const PATTERN_CHANNEL = 'rebound_patterns';
/** A circuit breaker changed state; payload: the key. */
export const CIRCUIT_CHANNEL = 'rebound_circuits';
/** Webhooks were queued. */
export const WEBHOOK_CHANNEL = 'rebound_webhooks';
