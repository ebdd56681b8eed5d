// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
// `@keyfleet/hub/testing`: what tests outside the hub (end-to-end, benchmarks) use against a hub process.
export { hubTestClient } from './hub-test-client.js';
export type { HubTestClient, RawRequest, RawResponse, TaskRequest, TestFetch, TypedClient } from './hub-test-client.js';
export { expectStatus } from './expect-status.js';
export type { BodyOf } from './expect-status.js';
export { parseSse } from './parse-sse.js';
