import { createLogger } from '@keyfleet/log';
import { type CommandRunner, commandRunner } from '../command-runner.js';
import type { RuleEnv } from '../hardening-rule.js';
import { STATE_DIR } from './debian-root.js';

/**
 * What a rule test hands a rule: a temp root, a silent log, a hub that is always reachable and
 * the profile's defaults (process runtime, root-owned files, one declared SSH user); a test
 * overrides the runner, sshd or params it is about.
 */
export function testRuleEnv(root: string, opts: { run?: CommandRunner; sshd?: string; params?: Partial<RuleEnv['params']> } = {}): RuleEnv {
  return {
    root,
    run: opts.run ?? commandRunner,
    sshd: opts.sshd ?? 'sshd',
    log: createLogger('test', { level: 'silent' }),
    signal: new AbortController().signal,
    reachesHub: async () => true,
    params: {
      runtime: 'process',
      fileOwner: { name: 'root', uid: 0 },
      ssh: { access: ['admin'] },
      paths: { agentStateDir: STATE_DIR, keycloakConfDir: undefined, keycloakTlsDir: '/x', keycloakInstanceFile: '/x' },
      natsEndpoints: [],
      keycloak: undefined,
      ...opts.params,
    },
  };
}
