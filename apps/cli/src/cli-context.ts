import type { Command } from 'commander';
import { resolveCliConfig } from './cli-config.js';
import { createHubClient, type HubClient } from './hub-client.js';
import { Output, type OutputFormat } from './output.js';

export interface CliContext {
  hub: HubClient;
  hubUrl: string;
  token: string | undefined;
  output: Output;
}

/** Builds the client and output from the global flags of whichever subcommand runs. */
export async function cliContext(cmd: Command): Promise<CliContext> {
  const opts = cmd.optsWithGlobals<{ hub?: string; token?: string; output: OutputFormat }>();
  const config = await resolveCliConfig({ hub: opts.hub, token: opts.token });
  return { hub: createHubClient(config), hubUrl: config.hub, token: config.token, output: new Output(opts.output) };
}
