import type { FeatureService } from '../../../agent-feature.js';
import { KeycloakFront } from './keycloak-front.js';

const CHECK_EVERY_MS = 10_000;

/**
 * Keeps the front of a docker-runtime Keycloak serving. At agent start it opens the front when
 * none serves (after a reboot), before the agent even tries NATS: Keycloak must not wait for the
 * hub. Then it checks every 10 s, so a front that died (killed, OOM) is back within seconds
 * instead of at the next agent start; only while no task runs, so it never races a task that is
 * switching or closing the front.
 */
export const frontWatchdog: FeatureService = {
  name: 'keycloak-front-watchdog',
  async start(ctx) {
    const first = await KeycloakFront.ensure(ctx.stateDir, ctx.log);
    if (first === 'serving') ctx.log.info({ front: first }, 'Keycloak front still serving');
    if (first === 'reopened') ctx.log.info({ front: first }, 'Keycloak front re-opened');
    let check: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      if (ctx.runningTasks() > 0 || ctx.signal.aborted) return;
      check = KeycloakFront.ensure(ctx.stateDir, ctx.log).then((r) => r === 'reopened' && ctx.log.warn('the Keycloak front was not serving; started it again'));
    }, CHECK_EVERY_MS);
    return {
      async stop() {
        clearInterval(timer);
        await check;
      },
    };
  },
};
