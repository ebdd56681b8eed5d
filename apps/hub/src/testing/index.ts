// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
// What tests outside the hub (the harness, end-to-end tests, benchmarks) use against a hub process.
export { hubTestClient } from './hub-test-client.js';
export type { HubTestClient, RawRequest, RawResponse, TaskRequest, TestFetch, TypedClient } from './hub-test-client.js';
export { expectStatus } from './expect-status.js';
export type { BodyOf } from './expect-status.js';
export { createEnrollmentToken } from './create-enrollment-token.js';
export { waitForTask } from './wait-for-task.js';
export { parseSse } from './parse-sse.js';
export { LiveEventStream } from './live-event-stream.js';
export type { SseEvent } from './live-event-stream.js';
export { waitOptions } from './wait-options.js';
