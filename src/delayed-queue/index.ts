export { DelayProcessor, dueTime, DLQ_SINK, TIMER_STORE } from './delay-processor';
export type { DelayProcessorOptions } from './delay-processor';
export { addDelayNodes, delayedQueueTopology, DELAY_NODE } from './topology';
export type { DelayedQueueDeps } from './topology';
export { isPendingTimerKey, TimerStore } from './timer-store';
export type { TimerEntry } from './timer-store';
export { backoffDelay } from './backoff';
export { CONTROL_COMMANDS } from './control';
export type { ControlCommand } from './control';
