import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { containerLogs } from './container-logs.js';

const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};
const fake = (raw: Buffer) => ({ logs: async () => raw }) as unknown as Docker.Container;

describe('containerLogs', () => {
  it('joins the framed stdout and stderr chunks of a container without TTY', async () => {
    const raw = Buffer.concat([frame(1, 'Keycloak starting\n'), frame(2, 'ERROR: Failed to start server\n')]);
    expect(await containerLogs(fake(raw), 10)).toBe('Keycloak starting\nERROR: Failed to start server\n');
  });

  it('passes unframed (TTY) output through', async () => {
    expect(await containerLogs(fake(Buffer.from('plain line\n')), 10)).toBe('plain line\n');
  });
});
