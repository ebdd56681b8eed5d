import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { SecretStore } from '../../secrets/secret-store.js';
import type { CertificateIssuer, IssueRequest, RenewalPlan } from './certificate-issuer.js';
import { renewalTime } from './renewal-time.js';
import { type RevocationReason, revocationReasons } from './revocation-reason.js';

// @peculiar/x509 signs through WebCrypto; Node's is the one to use (there is no `self.crypto` here).
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The CA's key and certificate, sealed in the hub's secret store under this name. */
export const INTERNAL_CA_SECRET = 'tls.internal-ca';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Long enough that a lab never re-distributes its trust, short of the 2038+ corner cases. */
const CA_DAYS = 10 * 365;

interface StoredCa {
  keyPkcs8: string;
  certificatePem: string;
}

/** Leaf lifetime (KEYFLEET_INTERNAL_CA_DAYS, default 90): short, like public CAs, so renewal is exercised. */
const leafDays = () => Number(process.env.KEYFLEET_INTERNAL_CA_DAYS) || 90;

/**
 * The hub's own CA for labs and air-gapped fleets, behind the same issuer interface as ACME: it
 * signs a host's CSR for the certificate's names (from the hub's record, never from the CSR) with
 * an ECDSA P-256 key made on first use and kept sealed in the secret store, never in clear in the
 * database. Hosts and clients trust its certificate (GET /v1/tls/trust-bundle).
 */
export class InternalCa implements CertificateIssuer {
  constructor(
    private readonly secrets: Pick<SecretStore, 'reveal' | 'put'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async load(): Promise<{ key: webcrypto.CryptoKey; cert: x509.X509Certificate }> {
    const stored = (await this.secrets.reveal([INTERNAL_CA_SECRET])).values.get(INTERNAL_CA_SECRET);
    if (stored) {
      const ca = JSON.parse(stored) as StoredCa;
      const key = await webcrypto.subtle.importKey('pkcs8', Buffer.from(ca.keyPkcs8, 'base64'), EC, false, ['sign']);
      return { key, cert: new x509.X509Certificate(ca.certificatePem) };
    }
    const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const notBefore = new Date(this.now().getTime() - 60_000);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=Keyfleet internal CA ${randomBytes(4).toString('hex')}`,
      notBefore,
      notAfter: new Date(notBefore.getTime() + CA_DAYS * DAY_MS),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const keyPkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
    await this.secrets.put(INTERNAL_CA_SECRET, JSON.stringify({ keyPkcs8, certificatePem: cert.toString('pem') } satisfies StoredCa), 'tls');
    return { key: keys.privateKey, cert };
  }

  /** The CA certificate clients should trust (made now if the hub has none yet). */
  async trustBundle(): Promise<string> {
    return `${(await this.load()).cert.toString('pem')}\n`;
  }

  async issue({ csrPem, domains }: IssueRequest): Promise<{ certificatePem: string }> {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await csr.verify())) throw new Error('the CSR’s signature does not verify: it was not made with the key it carries');
    const ca = await this.load();
    const notBefore = new Date(this.now().getTime() - 60_000);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${domains[0]}`,
      issuer: ca.cert.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + leafDays() * DAY_MS),
      publicKey: csr.publicKey,
      signingKey: ca.key,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(domains.map((value) => ({ type: 'dns' as const, value }))),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      ],
    });
    return { certificatePem: `${leaf.toString('pem')}\n${ca.cert.toString('pem')}\n` };
  }

  /** Nothing to tell anyone: the hub records the revocation, and `crl` lists it from those records. */
  async revoke(): Promise<void> {}

  /**
   * The CA's certificate revocation list (RFC 5280, PEM), signed now, valid for a day: the
   * revoked certificates the hub recorded for this CA, with when and why.
   */
  async crl(revoked: Array<{ serial: string; revokedAt: Date; reason: RevocationReason }>): Promise<string> {
    const ca = await this.load();
    const thisUpdate = this.now();
    const crl = await x509.X509CrlGenerator.create({
      issuer: ca.cert.subject,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + DAY_MS),
      signingKey: ca.key,
      signingAlgorithm: EC,
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.cert)],
      entries: revoked.map((r) => ({ serialNumber: r.serial.toLowerCase(), revocationDate: r.revokedAt, reason: revocationReasons[r.reason] })),
    });
    return `${crl.toString('pem')}\n`;
  }

  async planRenewal(certificatePem: string): Promise<RenewalPlan> {
    const leaf = new x509.X509Certificate(certificatePem);
    return { at: renewalTime(leaf.notBefore, leaf.notAfter) };
  }
}

/** A positive 16-byte serial (RFC 5280: at most 20 octets, unpredictable). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}
