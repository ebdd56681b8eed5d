import { fingerprint } from './alert-lifecycle.js';
import type { Observation } from './evaluate-rule.js';

/** A stretch of time a rule would have held an alert in one state on a host. */
export interface RuleInterval {
  /** What the alert is about on the host (mount, realm); empty for the host as a whole. */
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  from: Date;
  /** When it would have resolved (or moved on to firing); null: still open at the end. */
  to: Date | null;
  /** The worst value seen while it was open (the highest for `>`, the lowest for `<`). */
  value: number;
}

interface Open {
  labels: Record<string, string>;
  start: Date;
  firedAt?: Date;
  value: number;
}

/**
 * Replays a rule's lifecycle over a sequence of evaluations, as `applyObservations` would have
 * run it: a breach opens a pending alert, which fires once it has held `forSec` (at once without
 * one); whatever no longer breaches resolves; an evaluation that cannot tell (undefined) leaves
 * open alerts as they are. Nothing is stored: it collects the intervals it would have produced.
 */
export class RuleReplay {
  private readonly open = new Map<string, Open>();
  private readonly done: RuleInterval[] = [];

  constructor(
    private readonly forSec: number,
    private readonly op: '>' | '<' = '>',
  ) {}

  /** One evaluation at `at`, in time order. */
  step(at: Date, observations: Observation[] | undefined): void {
    if (!observations) return;
    const active = new Set<string>();
    for (const o of observations) {
      if (!o.active) continue;
      const key = fingerprint('', '', o.labels);
      active.add(key);
      const seen = this.open.get(key);
      const alert = seen ?? { labels: o.labels, start: at, value: o.value };
      if (seen) alert.value = this.op === '<' ? Math.min(alert.value, o.value) : Math.max(alert.value, o.value);
      else this.open.set(key, alert);
      if (!alert.firedAt && at.getTime() - alert.start.getTime() >= this.forSec * 1000) alert.firedAt = at;
    }
    for (const [key, alert] of this.open) {
      if (active.has(key)) continue;
      this.close(alert, at);
      this.open.delete(key);
    }
  }

  /** Every interval, those still open at the end with `to: null`, in order of their start. */
  intervals(): RuleInterval[] {
    const out = [...this.done];
    for (const alert of this.open.values()) this.emit(out, alert, null);
    return out.sort((a, b) => a.from.getTime() - b.from.getTime() || (a.state === 'pending' ? -1 : 1));
  }

  private close(alert: Open, at: Date): void {
    this.emit(this.done, alert, at);
  }

  private emit(out: RuleInterval[], alert: Open, end: Date | null): void {
    const { labels, value } = alert;
    // Without `for` an alert fires on the evaluation that opened it: no pending stretch to show.
    if (!alert.firedAt || alert.firedAt.getTime() > alert.start.getTime()) {
      out.push({ labels, state: 'pending', from: alert.start, to: alert.firedAt ?? end, value });
    }
    if (alert.firedAt) out.push({ labels, state: 'firing', from: alert.firedAt, to: end, value });
  }
}
