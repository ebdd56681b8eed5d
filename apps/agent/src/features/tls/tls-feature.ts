import { defineFeature } from '../../agent-feature.js';
import { tlsChallenge } from './tls-challenge.js';
import { tlsCsr } from './tls-csr.js';
import { tlsInstall } from './tls-install.js';
import { tlsProbe } from './tls-probe.js';

/** Certificates on this host: keys made here, ACME challenges answered, PEMs installed into Keycloak and proven served. */
export const tlsFeature = defineFeature({
  name: 'tls',
  handlers: {
    'tls.csr': tlsCsr,
    'tls.challenge': tlsChallenge,
    'tls.install': tlsInstall,
    'tls.probe': tlsProbe,
  },
});
