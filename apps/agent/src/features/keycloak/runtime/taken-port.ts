/**
 * Which of a new Keycloak's own ports a failed start says was taken, or undefined when it says
 * nothing of the kind. The words: Keycloak 26.7 "ERROR: Port already bound: 8080: Address already
 * in use"; docker publishing a port "Bind for 127.0.0.1:8080 failed: port is already allocated" or
 * "listen tcp4 127.0.0.1:8080: bind: address already in use". By number: a log can keep earlier
 * starts, whose bind failures name other ports, and a port taken from someone else's start is
 * not this one's to retry.
 */
export function takenPort(failure: string, ports: readonly number[]): number | undefined {
  const bindFailures = failure.split('\n').filter((line) => /address already in use|already bound|already allocated/i.test(line));
  return ports.find((p) => bindFailures.some((line) => new RegExp(`\\b${p}\\b`).test(line)));
}
