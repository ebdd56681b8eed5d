import { isTerminalTaskState, type TaskState } from '@keyfleet/proto/v1';
import { formatTransfer } from './format-transfer.js';
import { TransferRate } from './transfer-rate.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Inner width of a transfer's bar on a terminal. */
const BAR_WIDTH = 24;

interface Line {
  hostId: string;
  state: TaskState;
  percent?: number;
  message?: string;
  /** Bytes moved by a streaming task (backup, restore) while it moves them. */
  transfer?: { bytes: number; totalBytes?: number };
  rate?: TransferRate;
  /** When this line was last printed as a plain line (not a TTY). */
  printedAt?: number;
}

export interface LineChange {
  state?: TaskState;
  percent?: number;
  message?: string;
  /** A progress report's bytes; null: the report had none (the task moved past its transfer). */
  transfer?: { bytes: number; totalBytes?: number } | null;
  /** When the report was made (epoch ms): throughput is measured on these times. */
  at?: number;
}

export interface BatchProgressOptions {
  /** Not a TTY: a line whose only change is its bytes is printed again after this long (default 10 s). */
  plainEveryMs?: number;
  now?: () => number;
}

/**
 * One line per host while a batch runs. On a TTY the block is redrawn in place with a
 * spinner, and a streaming task's line has a bar with bytes and throughput; otherwise each
 * change is printed once as a plain line (logs, CI, pipes), and byte counts at most every
 * `plainEveryMs`, so a long backup does not flood a log.
 */
export class BatchProgress {
  private readonly lines = new Map<string, Line>();
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly plainEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly out: { write(text: string): unknown; isTTY?: boolean },
    hostIds: string[],
    opts: BatchProgressOptions = {},
  ) {
    this.plainEveryMs = opts.plainEveryMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    for (const hostId of hostIds) this.lines.set(hostId, { hostId, state: 'queued' });
    if (out.isTTY) {
      this.timer = setInterval(() => this.redraw(), 100);
      this.redraw();
    }
  }

  update(hostId: string, change: LineChange): void {
    const line: Line = this.lines.get(hostId) ?? { hostId, state: 'queued' };
    const before = format(line);
    const beforeText = format({ ...line, transfer: undefined });
    const { transfer, at, ...rest } = change;
    Object.assign(line, Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    if (transfer === null) {
      line.transfer = undefined;
      line.rate = undefined;
    } else if (transfer) {
      line.transfer = transfer;
      line.rate ??= new TransferRate();
      line.rate.add(transfer.bytes, at ?? this.now());
    }
    this.lines.set(hostId, line);
    if (this.out.isTTY) {
      this.redraw();
      return;
    }
    const text = format(line);
    if (text === before) return;
    // Bytes alone move every second: print them only now and then; anything else at once.
    const onlyBytes = format({ ...line, transfer: undefined }) === beforeText && line.printedAt !== undefined;
    if (onlyBytes && this.now() - line.printedAt! < this.plainEveryMs) return;
    line.printedAt = this.now();
    this.out.write(`${text}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.out.isTTY) this.redraw();
  }

  private redraw(): void {
    this.frame++;
    let text = this.drawn ? `\x1b[${this.drawn}F` : '';
    for (const line of this.lines.values()) {
      const mark = isTerminalTaskState(line.state) ? (line.state === 'succeeded' ? '✔' : '✘') : SPINNER[this.frame % SPINNER.length];
      text += `\x1b[2K${mark} ${format(line, this.frame)}\n`;
    }
    this.drawn = this.lines.size;
    this.out.write(text);
  }
}

/** A line's text; `frame` set: for a terminal (with a bar), else plain. */
function format(line: Line, frame?: number): string {
  // A transfer's bar says how far it is; the task's own percent would say it twice.
  const transfer =
    line.transfer && !isTerminalTaskState(line.state)
      ? ` ${formatTransfer({ ...line.transfer, rate: line.rate?.perSecond() }, frame === undefined ? 0 : BAR_WIDTH, frame)}`
      : '';
  const pct = line.percent === undefined || transfer ? '' : ` ${Math.round(line.percent)}%`;
  const msg = line.message ? ` ${line.message}` : '';
  return `${line.hostId}  ${line.state}${pct}${transfer}${msg}`;
}
