/** Renewal at 2/3 of the lifetime: a 90-day certificate renews with 30 days left, a 6-day one with 2. */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  return new Date(notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3);
}

/** Retry delay after `attempts` consecutive failures: doubling from `baseMs`, capped at 6 h. */
export function retryDelayMs(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), 6 * 3_600_000);
}
