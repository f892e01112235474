export { DLQ_HEADERS, deadLetterHeaders } from './headers';
export type { DeadLetterInfo, DeadLetterKind } from './headers';
export { readDeadLetters, originalHeaders } from './reader';
export type { DeadLetter, DeadLetterQuery } from './reader';
