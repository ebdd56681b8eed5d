import { enrollAgent, type AgentProcess } from './agent-process.js';
import { createEnrollmentToken, hubTestClient, type HubTestClient } from './hub-client.js';
import { startHubProcess, type HubProcess } from './hub-process.js';
import { startNats, type NatsServer } from './nats-server.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

export interface Fleet {
  nats: NatsServer;
  pg: PostgresServer;
  hub: HubProcess;
  /** The hub's typed API client, as the initial admin. */
  api: HubTestClient;
  agents: AgentProcess[];
  /** Enrolls and starts an agent (heartbeat 500 ms unless given). */
  addAgent(opts?: { labels?: Record<string, string>; heartbeatIntervalMs?: number; start?: boolean }): Promise<AgentProcess>;
  stop(): Promise<void>;
}

/**
 * Real NATS + real Postgres + the hub process; agents are added per test. With `natsTls`, NATS
 * requires TLS and the hub and every agent are given its CA.
 */
export async function startFleet(opts: { hubEnv?: NodeJS.ProcessEnv; natsTls?: boolean } = {}): Promise<Fleet> {
  const [nats, pg] = await Promise.all([startNats({ tls: opts.natsTls }), startPostgres()]);
  let hub: HubProcess;
  try {
    hub = await startHubProcess({ nats, databaseUrl: pg.url, env: { ...(nats.caFile ? { KEYFLEET_NATS_CA: nats.caFile } : {}), ...opts.hubEnv } });
  } catch (err) {
    await Promise.all([nats.stop(), pg.stop()]);
    throw err;
  }
  const api = hubTestClient({ url: hub.url, token: hub.adminToken });
  const fleet: Fleet = {
    nats,
    pg,
    hub,
    api,
    agents: [],
    async addAgent({ labels = {}, heartbeatIntervalMs = 500, start = true } = {}) {
      const env = nats.caFile ? { KEYFLEET_NATS_CA: nats.caFile } : undefined;
      const agent = await enrollAgent({ hubUrl: hub.url, token: await createEnrollmentToken(api), labels, heartbeatIntervalMs, env });
      fleet.agents.push(agent);
      if (start) await agent.start();
      return agent;
    },
    async stop() {
      await Promise.all(fleet.agents.map((a) => a.remove()));
      await hub.stop();
      await Promise.all([nats.stop(), pg.stop()]);
    },
  };
  return fleet;
}
