import type { CompatVerdict } from './compat-verdict.js';

export interface UpdateStrategy {
  /** The new instance starts beside the old one and takes over through the front; otherwise the old one stops first. */
  sideBySide: boolean;
  /** For the update timeline. */
  reason: string;
}

/**
 * How an update replaces a running Keycloak, the same for every runtime: side by side when the
 * database can be shared and Keycloak allows a rolling update; stop-then-start otherwise. A
 * dev-file database is one JVM's H2 file, which two instances cannot open at once. A new version
 * that cannot tell (no update-compatibility before 26.2) stops first too: it may migrate the
 * schema under the old one, and only a recreate gets a database copy a rollback can put back.
 */
export function updateStrategy(
  verdict: CompatVerdict,
  database: 'dev-file' | 'bundled' | 'external',
  what: 'container' | 'instance',
  newVersion = false,
): UpdateStrategy {
  if (database === 'dev-file') return { sideBySide: false, reason: `recreate: a dev-file database cannot be shared, so the old ${what} stops first` };
  if (verdict === 'recreate') return { sideBySide: false, reason: `recreate: Keycloak needs the old ${what} stopped` };
  if (verdict === 'unavailable' && newVersion)
    return { sideBySide: false, reason: `recreate: a new version Keycloak cannot check may migrate the schema, so the old ${what} stops first` };
  return { sideBySide: true, reason: `side by side: new ${what} beside the old one, then switch` };
}
