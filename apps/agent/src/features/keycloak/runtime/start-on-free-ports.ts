import { takenPort } from './taken-port.js';

/** Starts of a new Keycloak, each on new backend ports, while the one before lost a port to another process. */
export const PORT_ATTEMPTS = 3;

export interface StartOnFreePortsOptions<T> {
  /** The ports of the first start, chosen free (they are free only at that moment). */
  ports: number[];
  /** Starts the new Keycloak on these ports and waits for it; rejects when it did not come up. */
  start(ports: number[]): Promise<T>;
  /**
   * What failed when a taken port can explain `failure` ("Keycloak exited", "docker refused the
   * container"), else undefined: a port only matters to a start that ended.
   */
  ended(failure: string): string | undefined;
  /** New ports, chosen together. */
  choose(): Promise<number[]>;
  /** Undoes the failed start and records why it happens again (timeline and log) before the next one. */
  again(ports: number[], why: string): Promise<void>;
  signal: AbortSignal;
}

/**
 * Starts a new Keycloak on backend ports that were free when chosen. Keycloak (or docker, which
 * publishes them) binds them seconds later, and another process, or an outgoing connection given
 * the same ephemeral port, can take one meanwhile: rather than failing the install or update, that
 * start is repeated on new ports, up to PORT_ATTEMPTS starts.
 */
export async function startOnFreePorts<T>(o: StartOnFreePortsOptions<T>): Promise<T> {
  let ports = o.ports;
  for (let attempt = 1; ; attempt++) {
    try {
      return await o.start(ports);
    } catch (err) {
      const failure = (err as Error).message;
      const what = o.ended(failure);
      const taken = what === undefined ? undefined : takenPort(failure, ports);
      if (taken === undefined || attempt === PORT_ATTEMPTS || o.signal.aborted) throw err;
      const next = await o.choose();
      await o.again(
        next,
        `${what}: port ${taken} was taken by another process before Keycloak bound it; starting it again on ports ${next.join('/')} (start ${attempt + 1} of ${PORT_ATTEMPTS})`,
      );
      ports = next;
    }
  }
}
