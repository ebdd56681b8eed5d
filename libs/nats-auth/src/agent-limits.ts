/**
 * Limits in every agent's user JWT, so one compromised host cannot flood NATS or the hub.
 * Each is far above what an agent's normal work needs (figures measured on this code base):
 *
 * - `subs`: an agent holds 3 subscriptions (its task and cancel subjects and its reply inbox);
 *   100 leaves room for features that add subjects.
 * - `payload`: the largest message an agent sends is a task result; the biggest today is a
 *   `noop` result at its `sizeBytes` maximum, 1,000,000 bytes of output ≈ 1.0 MB on the wire.
 *   2 MiB is twice that; a backup that ever streams over NATS must keep its chunks ≤ 1 MiB.
 *   nats-server enforces the smaller of this and its `max_payload`, so the server's must be
 *   larger (deploy/nats/nats-server.conf sets 4MB, leaving the hub room for big task inputs).
 * - `data`: bytes per second the hub processes from one agent. nats-server 2.15 does not
 *   enforce `data` for client connections (only `subs` and `payload`, checked in its source),
 *   so the hub enforces it, per agent and per hub process, before decoding anything; the
 *   figure is in the credential so it states every limit its holder has. An agent that
 *   answers with 1 MB results back to back at its default concurrency of 4 stays far below it
 *   within `dataBurstBytes`; a heartbeat is ~1 KB every 15 s.
 */
export const AGENT_LIMITS = {
  subs: 100,
  payload: 2 * 1024 * 1024,
  data: 16 * 1024 * 1024,
  /** What an agent may send at once above the `data` rate before the hub starts dropping. */
  dataBurstBytes: 64 * 1024 * 1024,
} as const;
