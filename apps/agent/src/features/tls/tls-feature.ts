import { defineFeature } from '../../agent-feature.js';
import { lazyHandler } from '../../lazy-handler.js';

/** Certificates on this host: keys made here, ACME challenges answered, PEMs installed into Keycloak and proven served. */
export const tlsFeature = defineFeature({
  name: 'tls',
  handlers: {
    'tls.csr': lazyHandler(() => import('./tls-csr.js').then((m) => m.tlsCsr)),
    'tls.challenge': lazyHandler(() => import('./tls-challenge.js').then((m) => m.tlsChallenge)),
    'tls.install': lazyHandler(() => import('./tls-install.js').then((m) => m.tlsInstall)),
    'tls.probe': lazyHandler(() => import('./tls-probe.js').then((m) => m.tlsProbe)),
  },
});
