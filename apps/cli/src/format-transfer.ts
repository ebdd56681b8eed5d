import { bytesText } from '@keyfleet/proto/v1';

export interface Transfer {
  bytes: number;
  totalBytes?: number;
  /** Bytes per second, when known. */
  rate?: number;
}

/**
 * One transfer as text: `[█████░░░░░]  48%  1.2 GiB / 2.5 GiB  85.3 MiB/s` with a known total;
 * without one (a backup's dump is as long as it turns out), the bytes so far and, given a `frame`
 * (a live terminal), a block sliding across the bar so it still shows that bytes move.
 * `width` is the bar's inner width; 0 leaves the bar out (plain lines for logs).
 */
export function formatTransfer(t: Transfer, width: number, frame?: number): string {
  const parts: string[] = [];
  const known = t.totalBytes !== undefined && t.totalBytes > 0;
  const fraction = known ? Math.min(1, t.bytes / t.totalBytes!) : undefined;
  if (width > 0) {
    if (fraction !== undefined) {
      const full = Math.floor(fraction * width);
      parts.push(`[${'█'.repeat(full)}${'░'.repeat(width - full)}]`);
    } else if (frame !== undefined) {
      const block = Math.max(1, Math.floor(width / 5));
      const span = width - block;
      // Back and forth, one cell per frame.
      const pos = span === 0 ? 0 : Math.abs((frame % (2 * span)) - span);
      parts.push(`[${'░'.repeat(span - pos)}${'█'.repeat(block)}${'░'.repeat(pos)}]`);
    }
  }
  if (fraction !== undefined) parts.push(`${String(Math.floor(fraction * 100)).padStart(3)}%`);
  parts.push(known ? `${bytesText(t.bytes)} / ${bytesText(t.totalBytes!)}` : bytesText(t.bytes));
  if (t.rate !== undefined && Number.isFinite(t.rate)) parts.push(`${bytesText(Math.round(Math.max(0, t.rate)))}/s`);
  return parts.join('  ');
}
