import { v1 } from '@keyfleet/proto';

export interface KeycloakSummary {
  version?: string;
  runtime?: string;
  ready?: boolean;
  realms?: string;
  /** The outcome in words: changed or not, the update outcome, verification, or the error. */
  detail: string;
}

type Report = { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };

function verification(report: Report | undefined): string | undefined {
  if (!report) return undefined;
  const failed = report.checks.filter((c) => !c.ok);
  if (report.ok && failed.length === 0) return `verified (${report.checks.map((c) => c.name).join(', ')})`;
  return `verify failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ') || 'not ok'}`;
}

function uptime(sec: number | undefined): string | undefined {
  if (sec === undefined) return undefined;
  if (sec < 120) return `up ${Math.round(sec)}s`;
  if (sec < 7200) return `up ${Math.round(sec / 60)}m`;
  return `up ${Math.round(sec / 3600)}h`;
}

/** One host's row for any keycloak.* task: the instance it reported and what happened, in words. */
export function keycloakSummary(task: { type: string; state: string; output: unknown; error: { code: string; message: string } | null }): KeycloakSummary {
  if (task.state !== 'succeeded') {
    const failedReport = v1.taskDefinitions['keycloak.verify'].output.safeParse(task.output);
    const why = task.error ? `${task.error.code}: ${task.error.message}` : task.state;
    return { detail: failedReport.success ? `${why} — ${verification(failedReport.data)}` : why };
  }
  const instance = (i: { version: string; runtime: string; ready: boolean; realms?: string[] }) => ({
    version: i.version,
    runtime: i.runtime,
    ready: i.ready,
    realms: i.realms?.join(','),
  });
  const unexpected = { detail: `unexpected output: ${JSON.stringify(task.output)?.slice(0, 100)}` };
  switch (task.type) {
    case 'keycloak.install': {
      const o = v1.taskDefinitions['keycloak.install'].output.safeParse(task.output);
      if (!o.success) return unexpected;
      return { ...instance(o.data.instance), detail: [o.data.changed ? 'installed' : 'already installed, no change', verification(o.data.verify)].join('; ') };
    }
    case 'keycloak.update': {
      const o = v1.taskDefinitions['keycloak.update'].output.safeParse(task.output);
      if (!o.success) return unexpected;
      return { ...instance(o.data.instance), detail: [o.data.outcome, verification(o.data.verify)].filter(Boolean).join('; ') };
    }
    case 'keycloak.status': {
      const o = v1.taskDefinitions['keycloak.status'].output.safeParse(task.output);
      if (!o.success) return unexpected;
      if (!o.data.installed || !o.data.instance) return { detail: 'not installed' };
      return { ...instance(o.data.instance), detail: uptime(o.data.instance.uptimeSec) ?? '' };
    }
    case 'keycloak.verify': {
      const o = v1.taskDefinitions['keycloak.verify'].output.safeParse(task.output);
      return o.success ? { detail: verification(o.data)! } : unexpected;
    }
    case 'keycloak.start':
    case 'keycloak.stop':
    case 'keycloak.restart': {
      const o = v1.taskDefinitions[task.type].output.safeParse(task.output);
      if (!o.success) return unexpected;
      return { ...instance(o.data.instance), detail: o.data.changed ? 'changed' : 'no change' };
    }
    default:
      return { detail: JSON.stringify(task.output)?.slice(0, 100) ?? '' };
  }
}
