import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';

export interface TarEntry {
  name: string;
  type: string;
  size: number;
  mode: number;
  /** The entry's bytes; read it to the end (or not at all) before the next entry comes. */
  body: AsyncIterable<Buffer>;
}

/** The entries of a tar stream, one at a time as they arrive: nothing is held beyond the entry being read. */
export async function* tarEntries(source: Readable): AsyncGenerator<TarEntry> {
  const reader = extract();
  source.once('error', (err) => reader.destroy(err));
  source.pipe(reader);
  for await (const entry of reader) {
    const h = entry.header;
    yield { name: h.name, type: h.type ?? 'file', size: h.size ?? 0, mode: h.mode ?? 0o600, body: entry as AsyncIterable<Buffer> };
    // An entry the caller did not read is skipped, so the next one can come.
    entry.resume();
  }
}
