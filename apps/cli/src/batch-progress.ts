import { isTerminalTaskState, type TaskState } from '@keyfleet/proto/v1';
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface Line {
  hostId: string;
  state: TaskState;
  percent?: number;
  message?: string;
}

/**
 * One line per host while a batch runs. On a TTY the block is redrawn in place with a
 * spinner; otherwise each change is printed once as a plain line (logs, CI, pipes).
 */
export class BatchProgress {
  private readonly lines = new Map<string, Line>();
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    hostIds: string[],
  ) {
    for (const hostId of hostIds) this.lines.set(hostId, { hostId, state: 'queued' });
    if (out.isTTY) {
      this.timer = setInterval(() => this.redraw(), 100);
      this.redraw();
    }
  }

  update(hostId: string, change: Partial<Omit<Line, 'hostId'>>): void {
    const line: Line = this.lines.get(hostId) ?? { hostId, state: 'queued' };
    const before = format(line);
    Object.assign(line, Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)));
    this.lines.set(hostId, line);
    if (this.out.isTTY) this.redraw();
    else if (format(line) !== before) this.out.write(`${format(line)}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.out.isTTY) this.redraw();
  }

  private redraw(): void {
    this.frame = (this.frame + 1) % SPINNER.length;
    let text = this.drawn ? `\x1b[${this.drawn}F` : '';
    for (const line of this.lines.values()) {
      const mark = isTerminalTaskState(line.state) ? (line.state === 'succeeded' ? '✔' : '✘') : SPINNER[this.frame];
      text += `\x1b[2K${mark} ${format(line)}\n`;
    }
    this.drawn = this.lines.size;
    this.out.write(text);
  }
}

function format(line: Line): string {
  const pct = line.percent === undefined ? '' : ` ${Math.round(line.percent)}%`;
  const msg = line.message ? ` ${line.message}` : '';
  return `${line.hostId}  ${line.state}${pct}${msg}`;
}
