/**
 * After a change that could cut the agent off (a firewall), asks `confirm` once a second until it
 * says yes; if `seconds` pass without one, or the task is aborted, calls `revert`. Resolves with
 * whether the change was kept.
 */
export async function deadManSwitch(opts: {
  confirm: () => Promise<boolean>;
  seconds: number;
  revert: () => Promise<void>;
  signal: AbortSignal;
}): Promise<boolean> {
  const deadline = Date.now() + opts.seconds * 1000;
  while (!opts.signal.aborted && Date.now() < deadline) {
    if (await opts.confirm()) return true;
    // Pacing between probes, not a wait for something: each probe has its own timeout.
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) return resolve();
      const t = setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now())));
      opts.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
  await opts.revert();
  return false;
}
