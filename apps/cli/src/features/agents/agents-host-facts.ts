import type { HostFacts } from '../../cli-feature.js';
import { expectOk } from '../../hub-client.js';
import { agentsClient } from './agents-client.js';
import { describeUpgrade } from './describe-upgrade.js';

/** Version skew in `hosts list` (the version the hub wants, where a host runs another) and the last upgrade in `hosts show`. */
export const agentsHostFacts: HostFacts = {
  headers: ['WANTS'],
  async load(ctx, selector) {
    const body = await expectOk(await agentsClient(ctx).agent.upgrades.$get({ query: { selector } }));
    return new Map(
      body.items.map((h) => {
        const behind = body.wantedVersion && h.agentVersion !== body.wantedVersion ? body.wantedVersion : undefined;
        const failed =
          h.upgrade && (h.upgrade.state === 'rolled_back' || h.upgrade.state === 'failed') ? ` (${h.upgrade.to} ${h.upgrade.state.replace('_', ' ')})` : '';
        return [h.hostId, [behind ? `${behind}${failed}` : undefined]];
      }),
    );
  },
  async details(ctx, hostId) {
    const body = await expectOk(await agentsClient(ctx).agent.upgrades.$get({ query: {} }));
    const h = body.items.find((x) => x.hostId === hostId);
    return [
      ['agent wanted', body.wantedVersion],
      ['last upgrade', describeUpgrade(h?.upgrade ?? null)],
    ];
  },
};
