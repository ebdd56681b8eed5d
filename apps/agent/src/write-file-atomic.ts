import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `data` so that a crash at any moment leaves either the old or the new file,
 * never a torn one: write a temp file, fsync it, rename over the target, fsync the
 * directory so the rename itself is durable. Callers must not write the same path
 * concurrently (the temp name is fixed so a crash leaves at most one stray temp file).
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w', mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
