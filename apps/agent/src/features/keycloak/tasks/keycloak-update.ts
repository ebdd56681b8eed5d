import { adminCredentials } from '../instance/admin-credentials.js';
import { checkKeycloakConfig } from '../instance/check-keycloak-config.js';
import { configHash } from '../instance/config-hash.js';
import { installedInstance } from '../instance/installed-instance.js';
import { withInstalledCertificate } from '../instance/with-installed-certificate.js';
import { instanceView } from './instance-view.js';
import { saveInstance } from '../instance/instance-store.js';
import { isReady } from '../verify/is-ready.js';
import type { TimelineEntry } from '../keycloak-types.js';
import { openRuntime } from '../runtime/open-runtime.js';
import type { CompatVerdict } from '../runtime/compat-verdict.js';
import type { UpgradeHooks } from '../runtime/upgrade-hooks.js';
import { UpdateRolledBack } from '../runtime/update-rolled-back.js';
import { verifyFailure } from '../verify/verify-failure.js';
import { verifyKeycloak } from '../verify/verify-keycloak.js';
import type { TaskContext, TaskHandler } from '../../../task-handler.js';
import { TaskFailure } from '../../../task-failure.js';

const timelineText = (timeline: TimelineEntry[]) =>
  timeline.map((t) => `${t.at.slice(11, 19)} ${t.step}${t.detail ? ` (${t.detail.split('\n')[0]})` : ''}`).join(' | ');

/**
 * keycloak.update: moves Keycloak to a new version or config (see the runtimes for how),
 * verified before it serves. A rollback is a failed task: the operator asked for the new config
 * and did not get it. Its message reads "update rolled back: <reason>; timeline: …" and the old
 * instance keeps serving. Success returns the timeline. For a version upgrade `hooks` (the
 * backups feature, which registers the task) take a pre-update backup first, copy the database
 * once the old Keycloak stopped and put it back before the old one starts again in a rollback;
 * a rolled-back upgrade fails with "upgrade to X failed: <reason>; rolled back to Y, verified …",
 * the old instance verified with its own login.
 */
export async function updateKeycloak(
  config: Parameters<TaskHandler<'keycloak.update'>>[0],
  ctx: TaskContext,
  hooks?: UpgradeHooks,
): ReturnType<TaskHandler<'keycloak.update'>> {
  checkKeycloakConfig(config);
  const record = await installedInstance(ctx.stateDir);
  if (config.runtime !== record.runtime) {
    throw new TaskFailure('invalid_input', `Keycloak runs on the ${record.runtime} runtime here; moving it to ${config.runtime} is a migration, not an update`);
  }
  const runtime = await openRuntime(record.runtime, ctx.stateDir, ctx.log);
  const timeline: TimelineEntry[] = [];
  const note = (step: string, detail?: string) => {
    timeline.push({ at: new Date().toISOString(), step, ...(detail ? { detail: detail.slice(0, 2000) } : {}) });
    ctx.progress(undefined, detail ? `${step}: ${detail.split('\n')[0]}` : step);
  };
  const rctx = { signal: ctx.signal, log: ctx.log, note };
  const admin = adminCredentials(config, record);
  const target = (at: { baseUrl: string; managementUrl: string }) => ({ ...at, hostname: config.hostname, ...admin });

  if (configHash(config) === record.configHash && (await runtime.status(record)).running && (await isReady(record.managementUrl, ctx.signal))) {
    note('unchanged', 'the running Keycloak already has this configuration');
    const current = { ...record, config: withInstalledCertificate(config, record) };
    await saveInstance(ctx.stateDir, current);
    const report = await verifyKeycloak(target(current), config.verifyLogin, ctx.signal);
    if (!report.ok) throw new Error(verifyFailure(report, 'Keycloak unchanged, but its verification failed'));
    return { outcome: 'unchanged', instance: await instanceView(current, runtime, ctx.signal), verify: report, timeline };
  }

  note('update started', `${record.version} → ${config.version} (${record.runtime} runtime)`);
  const upgrade = config.version !== record.version ? hooks : undefined;
  const hctx = { signal: ctx.signal, log: ctx.log, note };
  let compatibility: CompatVerdict | undefined;
  let backup: { backupId?: string; detail: string } | undefined;
  let restored: string | undefined;
  const upgradeCtx = {
    ...rctx,
    compatibility: (verdict: CompatVerdict) => {
      compatibility = verdict;
    },
    ...(upgrade
      ? {
          oldStopped: () => upgrade.databaseQuiet(record, hctx),
          beforeOldRestarts: async () => {
            restored = await upgrade.restoreDatabase(record, hctx);
          },
        }
      : {}),
  };
  let next: Awaited<ReturnType<typeof runtime.update>>;
  try {
    // Before anything changes: a failed backup leaves the old Keycloak serving, untouched.
    if (upgrade) backup = await upgrade.beforeUpgrade(record, config, hctx);
    next = await runtime.update(record, withInstalledCertificate(config, record), upgradeCtx, (at) =>
      verifyKeycloak(target(at), config.verifyLogin, ctx.signal),
    );
  } catch (err) {
    let message = err instanceof UpdateRolledBack ? err.message : `update failed: ${(err as Error).message}`;
    if (upgrade && err instanceof UpdateRolledBack) {
      // The old instance as the operator knows it: its own admin and its own login.
      const old = await verifyKeycloak({ ...record, ...adminCredentials(record.config, record) }, record.config.verifyLogin, AbortSignal.timeout(120_000));
      const parts = [
        `upgrade to ${config.version} failed: ${err.reason}`,
        `rolled back to ${record.version}, ${old.ok ? 'verified' : verifyFailure(old, 'but its verification failed')}`,
        restored ?? databaseAfterRollback(record, compatibility),
        backup?.backupId ? `pre-update backup ${backup.backupId}` : backup && `no pre-update backup: ${backup.detail}`,
      ];
      const [headline, ...details] = parts.filter(Boolean).join('; ').split('\n');
      await upgrade.finish(hctx).catch((e: Error) => ctx.log.warn({ err: e.message }, 'cleaning up after the upgrade failed'));
      throw new Error(`${headline}; timeline: ${timelineText(timeline)}${details.length ? `\n${details.join('\n')}` : ''}`);
    }
    if (upgrade) await upgrade.finish(hctx).catch((e: Error) => ctx.log.warn({ err: e.message }, 'cleaning up after the upgrade failed'));
    if (upgrade) message = message.replace(/^update failed: /, `upgrade to ${config.version} failed: `);
    // Headline and timeline first: log excerpts after them, where truncation may cut them.
    const [headline, ...details] = message.split('\n');
    throw new Error(`${headline}; timeline: ${timelineText(timeline)}${details.length ? `\n${details.join('\n')}` : ''}`);
  }
  if (upgrade) await upgrade.finish(hctx);
  next = { ...next, ...admin };
  await saveInstance(ctx.stateDir, next);
  const report = await verifyKeycloak(target(next), config.verifyLogin, ctx.signal);
  note('update finished', report.ok ? 'verified through the public endpoints' : 'verification through the public endpoints failed');
  if (!report.ok)
    throw new Error(`${verifyFailure(report, 'updated, but the verification through the public endpoints failed')}; timeline: ${timelineText(timeline)}`);
  return {
    outcome: 'updated',
    instance: await instanceView(next, runtime, ctx.signal),
    verify: report,
    timeline,
    fromVersion: record.version,
    toVersion: next.version,
    ...(compatibility ? { compatibility } : {}),
    ...(backup ? { preUpdateBackup: backup } : {}),
    rolledBack: false,
  };
}

/** What a rollback that restored no copy left of the database, for the failed task's message. */
function databaseAfterRollback(record: { config: { database: { kind: string } } }, compatibility: CompatVerdict | undefined): string {
  if (record.config.database.kind === 'dev-file') return 'the dev-file database was not restored (it cannot be copied)';
  if (compatibility === 'rolling') return 'database kept (a rolling update: the old version ran on it throughout)';
  // Recreate: the copy is taken before the new version starts, so without one it never did.
  return 'database untouched (the new version did not start on it)';
}
