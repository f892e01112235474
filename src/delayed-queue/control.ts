/**
 * Operational commands travel on the intake topic itself, as records with the control header
 * (`INTAKE_HEADERS.control`), so they are ordered with the data and reach the task that owns the
 * partition: pause/resume go to every partition; cancel goes keyed by the request id, i.e. to the
 * partition that holds its timer.
 */
export type ControlCommand = 'pause' | 'resume' | 'cancel';
export const CONTROL_COMMANDS: readonly ControlCommand[] = ['pause', 'resume', 'cancel'];
