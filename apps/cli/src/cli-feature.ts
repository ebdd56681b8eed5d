import type { Command, Option } from 'commander';
import type { CliContext } from './cli-context.js';

/** What a capability (Keycloak, backups, …) adds to `hosts list` and `hosts show`. */
export interface HostFacts {
  /** Column headers of `hosts list`, in order. */
  headers: string[];
  /** One cell per header for each host the feature knows; hosts it does not know show empty cells. */
  load(ctx: CliContext, selector: string | undefined): Promise<Map<string, Array<string | undefined>>>;
  /** Labelled lines of `hosts show`. */
  details(ctx: CliContext, hostId: string): Promise<Array<[label: string, value: unknown]>>;
}

/** What a capability adds to `tokens create` (the agents feature: `--install`). */
export interface TokenExtras {
  /** Options of `tokens create` it handles. */
  options: Option[];
  /** Lines shown with the new token (and fields added to its JSON); none when its options are absent. */
  describe(
    ctx: CliContext,
    token: { token: string; expiresAt: string },
    opts: Record<string, unknown>,
  ): Promise<Array<{ key: string; label: string; value: string }>>;
}

/** What a capability plugs into the CLI; `features/index.ts` lists them. */
export interface CliFeature {
  readonly name: string;
  readonly commands: () => Command[];
  readonly hostFacts?: HostFacts;
  /** Subcommands of `hosts` (the metrics feature: `hosts metrics`). */
  readonly hostCommands?: () => Command[];
  readonly tokenExtras?: TokenExtras;
}
