import { access, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '@keyfleet/log';

export interface JavaHome {
  path: string;
  major: number;
}

/** Keycloak 26 supports 21 and 25; 17 still runs but is deprecated. */
const MIN_SUPPORTED = 21;
const MIN_RUNNABLE = 17;

async function majorOf(home: string): Promise<number | undefined> {
  try {
    await access(join(home, 'bin', 'java'));
    const release = await readFile(join(home, 'release'), 'utf8');
    const version = /^JAVA_VERSION="([^"]+)"/m.exec(release)?.[1];
    const major = version ? Number(version.startsWith('1.') ? version.split('.')[1] : version.split('.')[0]) : NaN;
    return Number.isInteger(major) ? major : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The JDK that runs Keycloak: JAVA_HOME when set, else the newest JDK >= 21 in `jvmDir`,
 * else a 17 with a warning. Throws naming what to install when there is none.
 */
export async function findJavaHome(log: Logger, env: NodeJS.ProcessEnv = process.env, jvmDir = '/usr/lib/jvm'): Promise<JavaHome> {
  if (env.JAVA_HOME) {
    // Keycloak runs from its dist directory: a relative JAVA_HOME would point elsewhere there.
    const home = resolve(env.JAVA_HOME);
    const major = await majorOf(home);
    if (major === undefined) throw new Error(`JAVA_HOME=${env.JAVA_HOME} has no bin/java with a release file`);
    if (major < MIN_RUNNABLE) throw new Error(`JAVA_HOME=${env.JAVA_HOME} is Java ${major}; Keycloak needs ${MIN_SUPPORTED} or newer`);
    if (major < MIN_SUPPORTED) log.warn({ javaHome: home, major }, 'Java 17 is deprecated for Keycloak; install 21 or 25');
    return { path: home, major };
  }
  const names = await readdir(jvmDir).catch(() => [] as string[]);
  const found: JavaHome[] = [];
  for (const name of names.sort()) {
    const major = await majorOf(join(jvmDir, name));
    if (major !== undefined && major >= MIN_RUNNABLE) found.push({ path: join(jvmDir, name), major });
  }
  found.sort((a, b) => b.major - a.major);
  const best = found[0];
  if (!best) throw new Error(`no JDK ${MIN_SUPPORTED} or newer in ${jvmDir} for Keycloak (set JAVA_HOME or install openjdk-21-jdk-headless)`);
  if (best.major < MIN_SUPPORTED) log.warn({ javaHome: best.path, major: best.major }, 'only Java 17 found: deprecated for Keycloak; install 21 or 25');
  return best;
}
