import { createHmac, timingSafeEqual } from 'node:crypto';

/** TSIG algorithms (RFC 8945) by their DNS name, with the node:crypto HMAC they use. */
const ALGORITHMS = { 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512' } as const;
export type TsigAlgorithm = keyof typeof ALGORITHMS;
export const tsigAlgorithms = Object.keys(ALGORITHMS) as [TsigAlgorithm, ...TsigAlgorithm[]];

const TSIG_TYPE = 250;
const CLASS_ANY = 255;
/** Seconds of clock difference the server accepts (RFC 8945 recommends 300). */
const FUDGE = 300;
const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

/** A domain name in canonical wire form (lower case, uncompressed), as the MAC covers it. */
function wireName(name: string): Buffer {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

function uint48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

function uint16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/**
 * Signs DNS messages with a TSIG key and checks the server's signed answers (RFC 8945). No
 * maintained npm package implements TSIG (dns-packet, which encodes the messages, has no TSIG
 * record), so the ~80 lines of it live here; the server test runs them against Knot DNS.
 */
export class Tsig {
  private readonly keyName: Buffer;
  private readonly algorithmName: Buffer;

  constructor(
    readonly name: string,
    readonly algorithm: TsigAlgorithm,
    private readonly secret: Buffer,
    /** Seconds since the epoch: injected so tests can sign at a chosen time. */
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.keyName = wireName(name);
    this.algorithmName = wireName(algorithm);
  }

  /** The variables after the message in what the MAC covers (RFC 8945 4.3.3). */
  private variables(timeSigned: number, error: number, other: Buffer): Buffer {
    return Buffer.concat([
      this.keyName,
      uint16(CLASS_ANY),
      Buffer.alloc(4),
      this.algorithmName,
      uint48(timeSigned),
      uint16(FUDGE),
      uint16(error),
      uint16(other.length),
      other,
    ]);
  }

  private hmac(...parts: Buffer[]): Buffer {
    const h = createHmac(ALGORITHMS[this.algorithm], this.secret);
    for (const p of parts) h.update(p);
    return h.digest();
  }

  /** `message` with a TSIG record appended, and its MAC (the answer's MAC covers it). */
  sign(message: Buffer): { signed: Buffer; mac: Buffer } {
    const timeSigned = this.now();
    const mac = this.hmac(message, this.variables(timeSigned, 0, Buffer.alloc(0)));
    const rdata = Buffer.concat([this.algorithmName, uint48(timeSigned), uint16(FUDGE), uint16(mac.length), mac, message.subarray(0, 2), uint16(0), uint16(0)]);
    const record = Buffer.concat([this.keyName, uint16(TSIG_TYPE), uint16(CLASS_ANY), Buffer.alloc(4), uint16(rdata.length), rdata]);
    const signed = Buffer.concat([message, record]);
    signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
    return { signed, mac };
  }

  /**
   * Checks that `response` carries a valid TSIG by this key over the request with `requestMac`;
   * throws with the server's TSIG error (a wrong key or secret) or why the signature is bad.
   */
  verify(response: Buffer, requestMac: Buffer): void {
    const arcount = response.readUInt16BE(10);
    // The TSIG record is the last one and its owner is the key name, uncompressed (RFC 8945 4.2).
    const start = response.lastIndexOf(Buffer.concat([this.keyName, uint16(TSIG_TYPE), uint16(CLASS_ANY)]));
    if (arcount === 0 || start < 12) throw new Error('the DNS server answered without a TSIG signature');
    let at = start + this.keyName.length + 10;
    const rdataEnd = at + response.readUInt16BE(at - 2);
    if (rdataEnd !== response.length) throw new Error('the DNS server answered with a malformed TSIG record');
    if (!response.subarray(at, at + this.algorithmName.length).equals(this.algorithmName)) throw new Error('the DNS server signed with another TSIG algorithm');
    at += this.algorithmName.length;
    const timeSigned = response.readUIntBE(at, 6);
    const macSize = response.readUInt16BE(at + 8);
    const mac = response.subarray(at + 10, at + 10 + macSize);
    at += 10 + macSize;
    const originalId = response.readUInt16BE(at);
    const error = response.readUInt16BE(at + 2);
    const other = response.subarray(at + 6, at + 6 + response.readUInt16BE(at + 4));
    if (error !== 0) throw new Error(`the DNS server refused the TSIG key ${this.name}: ${TSIG_ERRORS[error] ?? `TSIG error ${error}`}`);
    const unsigned = Buffer.from(response.subarray(0, start));
    unsigned.writeUInt16BE(originalId, 0);
    unsigned.writeUInt16BE(arcount - 1, 10);
    const expected = this.hmac(uint16(requestMac.length), requestMac, unsigned, this.variables(timeSigned, error, other));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw new Error('the DNS server’s answer has a bad TSIG signature');
    if (Math.abs(this.now() - timeSigned) > FUDGE) throw new Error('the DNS server’s TSIG time is more than 300 s off');
  }
}
