// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import type { HubTestClient } from './hub-test-client.js';

/** A single-use enrollment token (its secret) from an admin's client; labels go to the host it enrolls. */
export async function createEnrollmentToken(admin: HubTestClient, labels: Record<string, string> = {}): Promise<string> {
  const res = await admin.api.v1['enrollment-tokens'].$post({ json: { labels } });
  if (res.status !== 201) throw new Error(`creating an enrollment token: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}
