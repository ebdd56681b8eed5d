import type { HostFacts } from '../../cli-feature.js';
import { expectOk } from '../../hub-client.js';
import { describeKeycloak, describeVerification } from './describe-host-keycloak.js';
import { keycloakClient } from './keycloak-client.js';

/** Keycloak version/readiness and the last verification in `hosts list` and `hosts show`. */
export const keycloakHostFacts: HostFacts = {
  headers: ['KEYCLOAK', 'VERIFIED'],
  async load(ctx, selector) {
    const body = await expectOk(await keycloakClient(ctx).keycloak.hosts.$get({ query: { selector } }));
    return new Map(
      body.items.map((h) => [
        h.hostId,
        [
          h.keycloak?.installed ? `${h.keycloak.version} ${h.keycloak.ready ? 'ready' : 'not ready'}` : h.keycloak ? 'not installed' : undefined,
          h.lastVerification ? (h.lastVerification.ok ? 'ok' : 'FAILED') : undefined,
        ],
      ]),
    );
  },
  async details(ctx, hostId) {
    const h = await expectOk(await keycloakClient(ctx).hosts[':id'].keycloak.$get({ param: { id: hostId } }));
    return [
      ['keycloak', describeKeycloak(h.keycloak)],
      ['verification', describeVerification(h.lastVerification)],
    ];
  },
};
