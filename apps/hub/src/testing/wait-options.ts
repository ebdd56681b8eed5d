// Test support: only tests import apps/hub/src/testing/; the hub itself never does.

/**
 * `vi.waitFor` options for waiting on real servers (NATS, a database, a hub): its default of one
 * second is a timing window a loaded two-core machine does not keep.
 */
export const waitOptions = { timeout: 15_000, interval: 25 } as const;
