import { join } from 'node:path';
import type { z } from 'zod';
import { taskDefinitions } from '@keyfleet/proto/v1';
import type { TaskContext, TaskHandler } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { auditRules } from './hardening-engine.js';
import type { HardeningHost } from './hardening-host.js';
import type { HardeningRule, RuleEnv } from './hardening-rule.js';
import { keycloakHostProfile } from './keycloak-host-profile.js';
import { reachesNats } from './reaches-nats.js';
import { natsEndpoint, resolveParams } from './resolve-params.js';
import { type RollbackRecord, rollbackStore } from './rollback-store.js';
import { RuleRefused } from './rule-refused.js';

type Selection = z.output<(typeof taskDefinitions)['hardening.audit']['input']>;

/** Each probe of the dead-man switch gives up after this; the switch itself allows `confirmSeconds`. */
const PROBE_TIMEOUT_MS = 2_000;

const withTimeout = <T>(p: Promise<T>, ms: number, fallback: T) =>
  Promise.race([p, new Promise<T>((resolve) => setTimeout(() => resolve(fallback), ms).unref())]);

async function ruleEnv(host: HardeningHost, selection: Selection, ctx: TaskContext): Promise<RuleEnv> {
  const natsServers = await host.natsServers(ctx.stateDir);
  const params = await resolveParams(selection.params, { root: host.root, stateDir: ctx.stateDir, natsServers });
  // The agent's own servers, never the firewall's parameters: a wrong endpoint there is exactly what the switch must catch.
  const endpoints = natsServers.map(natsEndpoint);
  return {
    root: host.root,
    run: host.run,
    sshd: host.sshd,
    params,
    log: ctx.log,
    signal: ctx.signal,
    reachesHub: async () =>
      (await reachesNats(endpoints, PROBE_TIMEOUT_MS)) && (await withTimeout(ctx.agent.natsRttMs(), PROBE_TIMEOUT_MS, undefined)) !== undefined,
  };
}

/** The profile's rules (only `keycloak-host` is built in). */
const profiles: Record<Selection['profile'], readonly HardeningRule[]> = { 'keycloak-host': keycloakHostProfile };

/** The three hardening tasks over a host and a profile's rules; the feature passes the real host, tests a temp root. */
export function hardeningHandlers(host: HardeningHost, rulesOf: (profile: Selection['profile']) => readonly HardeningRule[] = (p) => profiles[p]) {
  const audit: TaskHandler<'hardening.audit'> = async (input, ctx) => {
    const env = await ruleEnv(host, input, ctx);
    return (await auditRules(input.profile, rulesOf(input.profile), env, input.disabled)).report;
  };

  const apply: TaskHandler<'hardening.apply'> = async (input, ctx) => {
    const { rules: only, dryRun, ...selection } = input;
    const rules = rulesOf(selection.profile);
    const unknown = (only ?? []).filter((id) => !rules.some((r) => r.id === id));
    if (unknown.length) throw new TaskFailure('invalid_input', `no such rule in profile ${selection.profile}: ${unknown.join(', ')}`);
    const env = await ruleEnv(host, selection, ctx);
    const before = await auditRules(selection.profile, rules, env, selection.disabled);
    const failing = rules.filter((r) => before.checks.get(r.id)?.status === 'fail' && (!only || only.includes(r.id)));
    const planned = failing.flatMap((r) => before.checks.get(r.id)!.changes.map((c) => ({ rule: r.id, ...c })));
    if (dryRun) return { dryRun, changes: planned, refused: [], report: before.report };

    const record: RollbackRecord = { id: rollbackStore.newId(), createdAt: new Date().toISOString(), selection, applied: [] };
    const changes: typeof planned = [];
    const refused: Array<{ rule: string; reason: string }> = [];
    for (const [i, rule] of failing.entries()) {
      if (ctx.signal.aborted) break;
      ctx.progress(Math.round((100 * i) / failing.length), `applying ${rule.id}`);
      try {
        const saved = await rule.apply(env, before.checks.get(rule.id)!);
        record.applied.push({ rule: rule.id, before: saved });
        await rollbackStore.save(join(host.root, ctx.stateDir), record);
        changes.push(...planned.filter((c) => c.rule === rule.id));
      } catch (err) {
        if (!(err instanceof RuleRefused)) ctx.log.error({ err, rule: rule.id }, 'hardening rule failed to apply');
        refused.push({ rule: rule.id, reason: err instanceof RuleRefused ? err.message : `failed: ${(err as Error).message}` });
      }
    }
    const after = await auditRules(selection.profile, rules, env, selection.disabled);
    return { dryRun, changes, refused, ...(record.applied.length ? { rollbackId: record.id } : {}), report: after.report };
  };

  const rollback: TaskHandler<'hardening.rollback'> = async (input, ctx) => {
    const record = await rollbackStore.load(join(host.root, ctx.stateDir), input.rollbackId);
    if (!record)
      throw new TaskFailure('invalid_input', input.rollbackId ? `no rollback ${input.rollbackId} on this host` : 'nothing to roll back on this host');
    if (record.rolledBackAt) throw new TaskFailure('invalid_input', `${record.id} was already rolled back at ${record.rolledBackAt}`);
    const selection = taskDefinitions['hardening.audit'].input.parse(record.selection);
    const rules = rulesOf(selection.profile);
    const env = await ruleEnv(host, selection, ctx);
    // Last applied first, so each rule finds the host as it left it.
    for (const { rule: id, before } of record.applied.toReversed()) {
      const rule = rules.find((r) => r.id === id);
      if (!rule) throw new Error(`rule ${id} of ${record.id} is not in this agent's profile any more`);
      await rule.rollback(env, before);
    }
    await rollbackStore.save(join(host.root, ctx.stateDir), { ...record, rolledBackAt: new Date().toISOString() });
    const after = await auditRules(selection.profile, rules, env, selection.disabled);
    return { rollbackId: record.id, restored: record.applied.map((a) => a.rule), report: after.report };
  };

  return { 'hardening.audit': audit, 'hardening.apply': apply, 'hardening.rollback': rollback };
}
