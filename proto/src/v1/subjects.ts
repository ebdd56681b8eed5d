/**
 * Every subject that crosses the wire. Agents publish only under
 * `kf.v1.hub.<hostId>.*` and receive only under `kf.v1.agent.<hostId>.*` and their
 * own inbox prefix; the NATS credential each agent gets enforces exactly these.
 */
export const PROTO_VERSION = 'v1' as const;

const ROOT = `kf.${PROTO_VERSION}`;

export const subjects = {
  /** Hub → agent requests. */
  agent: {
    all: (hostId: string) => `${ROOT}.agent.${hostId}.>`,
    task: (hostId: string) => `${ROOT}.agent.${hostId}.task`,
    cancel: (hostId: string) => `${ROOT}.agent.${hostId}.cancel`,
  },
  /** Agent → hub messages; the host id in the subject is the authenticated sender. */
  hub: {
    all: (hostId: string) => `${ROOT}.hub.${hostId}.>`,
    hello: (hostId: string) => `${ROOT}.hub.${hostId}.hello`,
    heartbeat: (hostId: string) => `${ROOT}.hub.${hostId}.heartbeat`,
    progress: (hostId: string) => `${ROOT}.hub.${hostId}.progress`,
    result: (hostId: string) => `${ROOT}.hub.${hostId}.result`,
    /**
     * Periodic metric samples. One token deeper than the core kinds, so the core's
     * `wildcard` never sees them and the metrics feature subscribes on its own.
     */
    metrics: (hostId: string) => `${ROOT}.hub.${hostId}.metrics.sample`,
    metricsWildcard: `${ROOT}.hub.*.metrics.sample`,
    /** Batches of Keycloak login and admin events (requests: the hub replies once they are stored). */
    keycloakEvents: (hostId: string) => `${ROOT}.hub.${hostId}.events.keycloak`,
    keycloakEventsWildcard: `${ROOT}.hub.*.events.keycloak`,
    /** Batches of Keycloak's and the agent's log lines (requests: the hub replies once they are stored). */
    logLines: (hostId: string) => `${ROOT}.hub.${hostId}.logs.lines`,
    logLinesWildcard: `${ROOT}.hub.*.logs.lines`,
    /** What hubs subscribe to (in a queue group so several hubs share the work). */
    wildcard: `${ROOT}.hub.*.*`,
  },
  /** Per-agent reply inbox, so one agent can never read another agent's replies. */
  inboxPrefix: (hostId: string) => `_INBOX_${hostId}`,
  /** Queue group shared by every hub process. */
  hubQueue: 'kf-hub',
} as const;

export type HubSubjectKind = 'hello' | 'heartbeat' | 'progress' | 'result';

/** Splits `kf.v1.hub.<hostId>.<kind>`; returns undefined for anything else. */
export function parseHubSubject(subject: string): { hostId: string; kind: HubSubjectKind } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== 'kf' || parts[1] !== PROTO_VERSION || parts[2] !== 'hub') return undefined;
  const kind = parts[4];
  if (kind !== 'hello' && kind !== 'heartbeat' && kind !== 'progress' && kind !== 'result') return undefined;
  return { hostId: parts[3]!, kind };
}
