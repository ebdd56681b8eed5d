export interface BatchWriter<T, R> {
  /** Queues one item; resolves with its own outcome once its batch is written. */
  add(item: T): Promise<R>;
  /** Writes what is queued and waits for it. */
  close(): Promise<void>;
}

interface Pending<T, R> {
  item: T;
  resolve(value: R): void;
  reject(err: unknown): void;
}

/**
 * Groups items that arrive close together (a burst of results from a thousand
 * agents) into one `write` call, one batch at a time. `write` returns one outcome
 * per item, in order; if it throws, every item of that batch is rejected.
 */
export function createBatchWriter<T, R>(write: (items: T[]) => Promise<R[]>, opts: { maxDelayMs: number; maxItems: number }): BatchWriter<T, R> {
  const queue: Pending<T, R>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, opts.maxItems);
    writing = write(batch.map((p) => p.item))
      .then((outcomes) => {
        if (outcomes.length !== batch.length) throw new Error(`batch write returned ${outcomes.length} outcomes for ${batch.length} items`);
        for (const [i, p] of batch.entries()) p.resolve(outcomes[i]!);
      })
      .catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      })
      .finally(() => {
        writing = undefined;
        // Whatever arrived during the write has already waited long enough.
        flush();
      });
  };

  return {
    add(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (queue.length >= opts.maxItems) flush();
        else if (!timer && !writing) timer = setTimeout(flush, opts.maxDelayMs);
      });
    },
    async close() {
      flush();
      while (writing) await writing;
    },
  };
}
