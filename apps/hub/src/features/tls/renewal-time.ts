/** Renewal at 2/3 of the lifetime: a 90-day certificate renews with 30 days left, a 6-day one with 2. */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  return new Date(notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3);
}

/**
 * A time in the CA's suggested renewal window, as RFC 9773 4.2 recommends: uniformly random over
 * the window, so a fleet's certificates issued together do not all come back at the same
 * instant; at once when the drawn time has passed (a window that began, or ended, as after an
 * incident at the CA).
 */
export function ariRenewalTime(window: { start: Date; end: Date }, now: Date, random: () => number): Date {
  const start = window.start.getTime();
  const drawn = start + Math.floor(random() * (window.end.getTime() - start));
  return drawn <= now.getTime() ? now : new Date(drawn);
}

/**
 * When to ask the CA again, from its Retry-After (seconds or an HTTP date), clamped to between
 * one minute and one day as RFC 9773 4.3 advises; 6 h when it gives none or nonsense.
 */
export function ariRecheckTime(retryAfter: string | null, now: Date): Date {
  const MIN = 60_000;
  const MAX = 24 * 3_600_000;
  let ms = 6 * 3_600_000;
  if (retryAfter && /^\d+$/.test(retryAfter.trim())) ms = Number(retryAfter.trim()) * 1000;
  else if (retryAfter && !Number.isNaN(Date.parse(retryAfter))) ms = Date.parse(retryAfter) - now.getTime();
  return new Date(now.getTime() + Math.min(MAX, Math.max(MIN, ms)));
}

/** Retry delay after `attempts` consecutive failures: doubling from `baseMs`, capped at 6 h. */
export function retryDelayMs(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), 6 * 3_600_000);
}
