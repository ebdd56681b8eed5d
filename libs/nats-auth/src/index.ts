export { NatsAuthority } from './nats-authority.js';
export type { NatsAuthorityFiles, NatsAuthorityKeys } from './nats-authority.js';
