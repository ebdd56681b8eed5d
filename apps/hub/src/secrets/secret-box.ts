import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals secret values with AES-256-GCM under the hub's secret key: a random nonce
 * per value, and the secret's name as associated data, so a sealed value copied
 * onto another name fails to open instead of being handed out under that name.
 */
export class SecretBox {
  /** Names the key without revealing it, so stored values can say which key sealed them. */
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`the hub secret key must be 32 bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
    this.keyId = createHash('sha256').update('keyfleet-secret-key-id\0').update(key).digest('hex').slice(0, 16);
  }

  seal(name: string, value: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(aad(name));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT]), nonce, body, cipher.getAuthTag()]);
  }

  /** Throws when the value was sealed under another key or name, or was altered. */
  open(name: string, sealed: Buffer): string {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== FORMAT) throw new Error(`secret "${name}" is not in a format this hub reads`);
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce);
    decipher.setAAD(aad(name));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`secret "${name}" does not decrypt with this hub's key (altered, or sealed under another key)`);
    }
  }
}

function aad(name: string): Buffer {
  return Buffer.from(`keyfleet-secret:${name}`, 'utf8');
}
