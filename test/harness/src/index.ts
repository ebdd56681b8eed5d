export { startNats } from './nats-server.js';
export type { NatsServer } from './nats-server.js';
export { findBinary } from './find-binary.js';
