/** Hub settings that once had names without the KEYFLEET_ prefix, with their names now. */
const RENAMED: Record<string, string> = {
  DATABASE_URL: 'KEYFLEET_DATABASE_URL',
  NATS_URL: 'KEYFLEET_NATS_URL',
  NATS_CREDS: 'KEYFLEET_NATS_CREDS',
  NATS_CA: 'KEYFLEET_NATS_CA',
};

/**
 * Refuses to start on an old setting name. Ignoring it would be worse than failing:
 * a hub whose DATABASE_URL went unread starts on an empty embedded database.
 */
export function refuseRenamedEnv(env: NodeJS.ProcessEnv): void {
  const stale = Object.keys(RENAMED).filter((old) => env[old] !== undefined && env[RENAMED[old]!] === undefined);
  if (stale.length > 0) {
    throw new Error(
      `hub settings were renamed: ${stale.map((old) => `${old} → ${RENAMED[old]}`).join(', ')}; set the new name (every Keyfleet setting starts with KEYFLEET_)`,
    );
  }
}
