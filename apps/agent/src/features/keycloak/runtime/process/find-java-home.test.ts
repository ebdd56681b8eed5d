import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { findJavaHome } from './find-java-home.js';

describe('findJavaHome', () => {
  let jvm: string;
  const warnings: string[] = [];
  const log = createLogger('test', { level: 'warn', destination: { write: (line: string) => warnings.push(line) } as unknown as NodeJS.WritableStream });
  const jdk = async (name: string, version: string) => {
    await mkdir(join(jvm, name, 'bin'), { recursive: true });
    await writeFile(join(jvm, name, 'bin', 'java'), '#!/bin/sh\n');
    await chmod(join(jvm, name, 'bin', 'java'), 0o755);
    await writeFile(join(jvm, name, 'release'), `IMPLEMENTOR="Test"\nJAVA_VERSION="${version}"\n`);
  };
  beforeEach(async () => {
    jvm = await mkdtemp(join(tmpdir(), 'kf-jvm-'));
    warnings.length = 0;
  });
  afterEach(() => rm(jvm, { recursive: true, force: true }));

  it('picks the newest JDK of 21 or later', async () => {
    await jdk('java-17-openjdk-amd64', '17.0.15');
    await jdk('java-21-openjdk-amd64', '21.0.8');
    await jdk('temurin-25-jdk-amd64', '25.0.3');
    expect(await findJavaHome(log, {}, jvm)).toEqual({ path: join(jvm, 'temurin-25-jdk-amd64'), major: 25 });
  });

  it('falls back to 17 with a warning', async () => {
    await jdk('java-17-openjdk-amd64', '17.0.15');
    expect((await findJavaHome(log, {}, jvm)).major).toBe(17);
    await vi.waitFor(() => expect(warnings.join('')).toContain('deprecated for Keycloak'));
  });

  it('honours JAVA_HOME and refuses a JDK older than 17', async () => {
    await jdk('old', '11.0.2');
    await jdk('mine', '21.0.1');
    expect(await findJavaHome(log, { JAVA_HOME: join(jvm, 'mine') }, jvm)).toEqual({ path: join(jvm, 'mine'), major: 21 });
    await expect(findJavaHome(log, { JAVA_HOME: join(jvm, 'old') }, jvm)).rejects.toThrow(/is Java 11; Keycloak needs 21 or newer/);
  });

  it('makes a relative JAVA_HOME absolute: Keycloak runs from its own directory', async () => {
    await jdk('mine', '21.0.1');
    const relativeHome = relative(process.cwd(), join(jvm, 'mine'));
    expect(await findJavaHome(log, { JAVA_HOME: relativeHome }, jvm)).toEqual({ path: join(jvm, 'mine'), major: 21 });
  });

  it('names what to install when there is no JDK', async () => {
    await expect(findJavaHome(log, {}, jvm)).rejects.toThrow(/no JDK 21 or newer .* install openjdk-21-jdk-headless/);
  });
});
