import { randomInt } from 'node:crypto';
import dnsPacket from 'dns-packet';
import type { Dns01Provider } from './dns01-provider.js';
import { dnsOverTcp } from './dns-over-tcp.js';
import type { Tsig } from './tsig.js';

const RCODES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 9: 'NOTAUTH', 10: 'NOTZONE' };
const OPCODE_UPDATE = 5 << 11;
const CLASS_NONE = 254;
/** Short: the record only lives while the CA looks, and a resolver must not cache a stale one long. */
const TTL_SEC = 60;

export interface Rfc2136Options {
  /** The primary that accepts updates, `host:port`. */
  server: string;
  /** The zone to update; found by asking the server for the SOA above the record when absent. */
  zone?: string;
  tsig: Tsig;
  timeoutMs?: number;
}

/**
 * DNS-01 through RFC 2136 dynamic updates signed with TSIG, sent straight to the zone's primary
 * (BIND, Knot, PowerDNS, Windows DNS all accept them). dns-packet encodes the messages; the
 * answer's TSIG is verified, so a forged "NOERROR" cannot make the hub believe a record exists.
 */
export class Rfc2136Provider implements Dns01Provider {
  readonly description: string;

  constructor(private readonly opts: Rfc2136Options) {
    this.description = `rfc2136 ${opts.server}`;
  }

  async present(_domain: string, recordName: string, value: string, signal?: AbortSignal): Promise<void> {
    await this.update(recordName, value, 'add', signal);
  }

  async cleanup(_domain: string, recordName: string, value: string, signal?: AbortSignal): Promise<void> {
    await this.update(recordName, value, 'delete', signal);
  }

  /** The zone holding `name`: the owner of the SOA the server returns for it (answer or authority). */
  private async findZone(name: string, signal?: AbortSignal): Promise<string> {
    const query = dnsPacket.encode({ type: 'query', id: randomInt(65536), questions: [{ name, type: 'SOA', class: 'IN' }] });
    const answer = dnsPacket.decode(await dnsOverTcp(this.opts.server, query, { timeoutMs: this.opts.timeoutMs, signal }));
    const soa = [...(answer.answers ?? []), ...(answer.authorities ?? [])].find((r) => r.type === 'SOA');
    if (!soa) throw new Error(`the DNS server ${this.opts.server} is not authoritative for ${name} (no SOA in its answer); set the zone`);
    return soa.name;
  }

  private async update(name: string, value: string, action: 'add' | 'delete', signal?: AbortSignal): Promise<void> {
    const zone = this.opts.zone ?? (await this.findZone(name, signal));
    const message = dnsPacket.encode({
      type: 'query',
      id: randomInt(65536),
      flags: OPCODE_UPDATE,
      // In an UPDATE, the question section is the zone and the authority section the changes (RFC 2136 2.2).
      questions: [{ name: zone, type: 'SOA', class: 'IN' }],
      authorities: [{ name, type: 'TXT', class: 'IN', ttl: action === 'add' ? TTL_SEC : 0, data: value }],
    });
    if (action === 'delete') {
      // Deleting one value of an RRset is class NONE (RFC 2136 2.5.4), which dns-packet cannot
      // encode: the record is last, so its class sits right before TTL, rdlength and the
      // one-string TXT rdata (length byte + value).
      message.writeUInt16BE(CLASS_NONE, message.length - (1 + Buffer.byteLength(value)) - 2 - 4 - 2);
    }
    const { signed, mac } = this.opts.tsig.sign(message);
    const response = await dnsOverTcp(this.opts.server, signed, { timeoutMs: this.opts.timeoutMs, signal });
    const rcode = response.readUInt16BE(2) & 0xf;
    const what = `${action === 'add' ? 'adding' : 'removing'} TXT ${name} in zone ${zone} at ${this.opts.server}`;
    try {
      this.opts.tsig.verify(response, mac);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}${rcode ? ` (${RCODES[rcode] ?? `rcode ${rcode}`})` : ''}`);
    }
    if (rcode !== 0) throw new Error(`${what}: the server answered ${RCODES[rcode] ?? `rcode ${rcode}`}`);
  }
}
