import { setTimeout as sleep } from 'node:timers/promises';
import { encode, messages, subjects } from '@keyfleet/proto/v1';
import type { FeatureService, ServiceContext } from '../../agent-feature.js';
import { loadInstance } from '../keycloak/index.js';
import { HostMetrics } from './host-metrics.js';
import { KeycloakMetrics } from './keycloak-metrics.js';

/** Seconds between samples: the hub's history resolution. */
const DEFAULT_INTERVAL_MS = 15_000;
const SCRAPE_TIMEOUT_MS = 5_000;

/**
 * Sends one metric sample of the host (and its Keycloak, when there is one) to the hub every
 * interval. Pushed rather than asked for: one message per host per interval, no task rows.
 * `KEYFLEET_METRICS_INTERVAL_MS` sets the interval (0 turns sampling off);
 * `KEYFLEET_METRICS_KEYCLOAK_URL` names a management URL for a Keycloak Keyfleet did not install.
 */
export const metricsService: FeatureService = {
  name: 'metrics',
  async start(ctx) {
    const intervalMs = Number(process.env.KEYFLEET_METRICS_INTERVAL_MS ?? DEFAULT_INTERVAL_MS);
    if (!(intervalMs > 0)) return { stop: async () => {} };
    const sampler = new MetricsSampler(ctx, intervalMs);
    const loop = sampler.run();
    return {
      stop: async () => {
        sampler.stop();
        await loop;
      },
    };
  },
};

class MetricsSampler {
  private readonly host = new HostMetrics();
  private readonly keycloak = new KeycloakMetrics();
  private readonly stopped = new AbortController();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly intervalMs: number,
  ) {}

  stop(): void {
    this.stopped.abort();
  }

  async run(): Promise<void> {
    const signal = AbortSignal.any([this.ctx.signal, this.stopped.signal]);
    while (!signal.aborted) {
      // Sampling while offline would only build samples nobody receives.
      if (this.ctx.connected()) {
        try {
          await this.sampleOnce();
        } catch (err) {
          this.ctx.log.warn({ reason: (err as Error).message }, 'metric sample failed');
        }
      }
      await sleep(this.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  private async sampleOnce(): Promise<void> {
    const at = new Date();
    const series = { ...(await this.host.collect()), ...(await this.keycloakSeries()) };
    const msg = encode(messages.metrics, {
      kind: 'metrics',
      hostId: this.ctx.hostId,
      at: at.toISOString(),
      intervalSec: this.intervalMs / 1000,
      series,
    });
    this.ctx.publishToHub(subjects.hub.metrics(this.ctx.hostId), msg);
  }

  private async keycloakSeries(): Promise<Record<string, number>> {
    const base = process.env.KEYFLEET_METRICS_KEYCLOAK_URL ?? (await loadInstance(this.ctx.stateDir).catch(() => undefined))?.managementUrl;
    if (!base) return {};
    const url = base.replace(/\/+$/, '');
    const [metrics, ready] = await Promise.all([fetchText(`${url}/metrics`), fetchText(`${url}/health/ready`)]);
    return {
      kf_keycloak_up: metrics.ok ? 1 : 0,
      kf_keycloak_ready: ready.ok ? 1 : 0,
      ...(metrics.ok ? this.keycloak.summarize(metrics.text) : {}),
    };
  }
}

async function fetchText(url: string): Promise<{ ok: boolean; text: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    return { ok: res.ok, text: await res.text() };
  } catch {
    return { ok: false, text: '' };
  }
}
