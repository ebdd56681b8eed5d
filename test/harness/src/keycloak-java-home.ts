import { accessSync, constants, readdirSync } from 'node:fs';
import { join } from 'node:path';

const JVM_DIR = '/usr/lib/jvm';
// Keycloak 26 deprecates 17; 21 and 25 are the supported LTS releases.
const PREFERRED_MAJORS = ['21', '25', '17'];

/**
 * The JDK that runs Keycloak: KEYFLEET_JAVA_HOME if set, else the first of 21, 25, 17 found in
 * /usr/lib/jvm (e.g. temurin-25-jdk-amd64, java-21-openjdk-amd64). Throws naming what to install.
 */
export function findJavaHome(): string {
  const fromEnv = process.env.KEYFLEET_JAVA_HOME;
  if (fromEnv) return fromEnv;
  let names: string[] = [];
  try {
    names = readdirSync(JVM_DIR);
  } catch {
    // no JVM directory at all: fall through to the error below
  }
  for (const major of PREFERRED_MAJORS) {
    for (const name of names.filter((n) => n.includes(`-${major}-`) || n.endsWith(`-${major}`)).sort()) {
      const home = join(JVM_DIR, name);
      try {
        accessSync(join(home, 'bin', 'java'), constants.X_OK);
        return home;
      } catch {
        // a symlink or partial install without a launcher; keep looking
      }
    }
  }
  throw new Error(`no JDK 21, 25 or 17 in ${JVM_DIR} for Keycloak (set KEYFLEET_JAVA_HOME or apt-get install openjdk-17-jdk-headless)`);
}
