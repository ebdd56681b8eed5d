export { PROTO_VERSION, subjects, parseHubSubject } from './subjects.js';
export type { HubSubjectKind } from './subjects.js';
export { ids } from './ids.js';
export * from './envelope.js';
export { encode, decode, DecodeError } from './codec.js';
export { defineTask } from './define-task.js';
export type { TaskDefinition } from './define-task.js';
export { taskDefinitions, isTaskName } from './tasks/index.js';
export type { TaskName } from './tasks/index.js';
