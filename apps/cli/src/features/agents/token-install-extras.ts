import { Option } from 'commander';
import type { TokenExtras } from '../../cli-feature.js';
import { expectOk } from '../../hub-client.js';
import { agentsClient } from './agents-client.js';
import { installCommandLines } from './install-command-line.js';

/** `tokens create --install [--agent-version V]`: the token comes with the one command that installs a host with it. */
export const tokenInstallExtras: TokenExtras = {
  options: [
    new Option('--install', 'also print the one command that installs the agent on a host with this token'),
    new Option('--agent-version <version>', 'agent version to install (default: the one the hub wants the fleet on)'),
  ],
  async describe(ctx, token, opts) {
    if (!opts.install) return [];
    const version = typeof opts.agentVersion === 'string' ? opts.agentVersion : undefined;
    const artifact = await expectOk(await agentsClient(ctx).agent.artifact.$get({ query: { version } }));
    const lines = installCommandLines({ hubUrl: ctx.hubUrl, token: token.token, version: artifact.version, sha256: artifact.sha256 });
    return [
      { key: 'installCommand', label: 'install (as root)', value: lines.install },
      { key: 'installCommandSudo', label: 'install (sudo)', value: lines.sudo },
      { key: 'uninstallCommand', label: 'uninstall', value: lines.uninstall },
    ];
  },
};
