import type { KeycloakInstanceRecord } from '../instance/instance-store.js';
import { isReady } from '../verify/is-ready.js';
import type { KeycloakRuntime } from '../runtime/keycloak-runtime.js';
import type { KeycloakInstanceView } from '../keycloak-types.js';
import { listRealms } from '../verify/list-realms.js';

/** What a task reports about the instance: no secrets, just where it is and how it is doing. */
export async function instanceView(
  record: KeycloakInstanceRecord,
  runtime: KeycloakRuntime,
  signal: AbortSignal,
  withRealms = false,
): Promise<KeycloakInstanceView> {
  const status = await runtime.status(record);
  const ready = status.running && (await isReady(record.managementUrl, signal));
  const view: KeycloakInstanceView = { runtime: record.runtime, version: record.version, ready, baseUrl: record.baseUrl, managementUrl: record.managementUrl };
  if (status.running && status.startedAt) view.uptimeSec = Math.max(0, Math.round((Date.now() - status.startedAt.getTime()) / 1000));
  if (withRealms && ready) view.realms = await listRealms(record, signal);
  return view;
}
