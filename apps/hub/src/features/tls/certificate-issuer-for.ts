import type { ApiDeps } from '../../api/api-deps.js';
import { acmeClient } from './acme-account.js';
import { AcmeIssuer } from './acme-issuer.js';
import { orderLimitFromEnv, reserveAcmeOrder } from './acme-order-budget.js';
import type { CertificateIssuer } from './certificate-issuer.js';
import type { CertificateRow } from './issue-certificate.js';
import { createDns01Provider } from './dns01/create-dns01-provider.js';
import { Dns01Solver } from './dns01/dns01-solver.js';
import { HostHttp01Solver } from './host-http01-solver.js';
import { InternalCa } from './internal-ca.js';

/** KEYFLEET_ACME_ARI=off makes ACME renewals ignore the CA's renewal windows (2/3 of the lifetime only). */
const ariEnabled = () => process.env.KEYFLEET_ACME_ARI !== 'off';

/** The issuer a certificate's row asks for: the hub's own CA, or its ACME CA with the row's challenge. */
export async function certificateIssuerFor(deps: Pick<ApiDeps, 'db' | 'dispatcher' | 'secrets'>, cert: CertificateRow): Promise<CertificateIssuer> {
  if (cert.issuer.kind === 'internal') return new InternalCa(deps.secrets);
  const directoryUrl = cert.issuer.directoryUrl;
  const solver =
    cert.challenge === 'dns-01' && cert.dns
      ? new Dns01Solver(await createDns01Provider(cert.dns, deps.secrets))
      : new HostHttp01Solver(deps, cert.host_id, cert.id, cert.http01_port);
  const limit = orderLimitFromEnv();
  return new AcmeIssuer({
    directoryUrl,
    client: () => acmeClient(deps.secrets, directoryUrl),
    solver,
    ari: ariEnabled(),
    ...(limit ? { reserveOrder: () => reserveAcmeOrder(deps.db, directoryUrl, limit) } : {}),
  });
}
