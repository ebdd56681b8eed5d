import { errors } from '@nats-io/transport-node';

/** A short, loggable reason for a failed NATS request; `unreachable` means nobody listens. */
export function describeRequestError(err: unknown): { unreachable: boolean; reason: string } {
  if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
    return { unreachable: true, reason: 'no responders (agent not connected)' };
  }
  if (err instanceof errors.TimeoutError) return { unreachable: false, reason: 'no reply before the timeout' };
  return { unreachable: false, reason: err instanceof Error ? err.message : String(err) };
}
