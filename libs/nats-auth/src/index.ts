export { AGENT_LIMITS } from './agent-limits.js';
export { NatsAuthority } from './nats-authority.js';
export type { NatsAuthorityFiles, NatsAuthorityKeys } from './nats-authority.js';
export { accountUpdateSubject, publishAccountJwt, REVOCATION_INBOX_PREFIX } from './publish-account-jwt.js';
