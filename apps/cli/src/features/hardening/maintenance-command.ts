import { Command } from 'commander';
import { type CliContext, cliContext } from '../../cli-context.js';
import { expectOk } from '../../hub-client.js';
import { hardeningClient } from './hardening-client.js';
import { printFindings } from './render-hardening.js';

/** One host's last maintenance reports: pending updates (security first), the Lynis scan's failing tests, the Keycloak version verdict. */
async function show(ctx: CliContext, hostId: string, all: boolean): Promise<void> {
  const body = await expectOk(await hardeningClient(ctx).hosts[':id'].maintenance.$get({ param: { id: hostId } }));
  if (ctx.output.format === 'json') return ctx.output.json(body);
  const { updates, scan, keycloakVersion, logs } = body;
  ctx.output.line(`${body.hostname} (${body.hostId})`);
  const never = (task: string) =>
    `never reported; run keyfleet tasks run ${task} --target ${body.hostId}, or schedule it (keyfleet schedules create --kind task)`;
  if (!updates) ctx.output.line(`updates:  ${never('maintenance.updates')}`);
  else {
    const r = updates.report;
    ctx.output.line(
      `updates:  ${r.packages.length} upgradable, ${r.security} security${r.rebootRequired ? `, REBOOT REQUIRED (${r.rebootPackages.join(', ') || 'no package named'})` : ''}, checked ${r.checkedAt} (task ${updates.taskId})`,
    );
    if (r.applied) ctx.output.line(`          upgraded: ${r.applied.join(', ') || 'nothing'}`);
    const listed = [...r.packages].sort((a, b) => Number(b.security) - Number(a.security) || a.name.localeCompare(b.name));
    if (listed.length)
      ctx.output.table(listed, listed, [
        ['PACKAGE', (p) => p.name],
        ['FROM', (p) => p.from ?? '(new)'],
        ['TO', (p) => p.to],
        ['SECURITY', (p) => (p.security ? 'yes' : '')],
        ['ORIGIN', (p) => p.origin],
      ]);
  }
  if (!keycloakVersion) ctx.output.line(`keycloak: ${never('maintenance.keycloak-version --param allowed=...')}`);
  else {
    const r = keycloakVersion.report;
    ctx.output.line(
      `keycloak: ${r.status === 'not-installed' ? 'not installed by the agent' : `${r.version} ${r.status === 'allowed' ? 'allowed' : 'NOT ALLOWED'}`} (allowed: ${r.allowed.join(', ')}), checked ${r.checkedAt}`,
    );
  }
  if (!logs) ctx.output.line(`logs:     ${never('maintenance.logs')}`);
  else {
    const r = logs.report;
    const rotated = r.files.filter((f) => f.rotated).map((f) => f.path);
    ctx.output.line(
      `logs:     ${rotated.length} of ${r.files.length} rotated${rotated.length ? ` (${rotated.join(', ')})` : ''}, ${Math.round(r.freedBytes / 1024 / 1024)} MiB freed, checked ${r.checkedAt}`,
    );
  }
  if (!scan) ctx.output.line(`scan:     ${never('maintenance.scan')}`);
  else {
    const r = scan.report;
    ctx.output.line(
      `scan:     lynis ${r.lynisVersion}, index ${r.hardeningIndex ?? '?'}, score ${r.score}, ${r.testsPerformed} tests in ${Math.round(r.durationMs / 1000)} s, checked ${r.checkedAt} (task ${scan.taskId})`,
    );
    // Passing tests are most of a scan: shown with --all only.
    const shown = all ? r : { ...r, findings: r.findings.filter((f) => f.status !== 'pass') };
    if (shown.findings.length) printFindings(ctx.output, shown);
  }
}

/** `keyfleet maintenance report|show`: the hub's last maintenance reports (the tasks themselves run and are scheduled like any task). */
export function maintenanceCommand(): Command {
  const maintenance = new Command('maintenance').description(
    'host upkeep reports kept by the hub: OS updates (maintenance.updates), Lynis scans (maintenance.scan), Keycloak version checks (maintenance.keycloak-version), log rotation (maintenance.logs)',
  );
  maintenance
    .command('show <host>')
    .description('One host’s last maintenance reports: pending updates, reboot flag, Keycloak version verdict, the scan’s failing tests')
    .option('--all', 'list the scan’s passing tests too')
    .action(async (hostId: string, opts: { all?: boolean }, cmd: Command) => show(await cliContext(cmd), hostId, Boolean(opts.all)));
  maintenance
    .command('report')
    .description('The fleet: each host’s pending and security updates, reboot flag, scan score and Keycloak version verdict')
    .option('--selector <k=v,...>', 'only hosts with these labels')
    .action(async (opts: { selector?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await hardeningClient(ctx).maintenance.hosts.$get({ query: opts.selector ? { selector: opts.selector } : {} }));
      ctx.output.table(body, body.items, [
        ['HOST', (h) => h.hostId],
        ['HOSTNAME', (h) => h.hostname],
        ['UPDATES', (h) => h.upgradable],
        ['SECURITY', (h) => h.security],
        ['REBOOT', (h) => (h.rebootRequired === null ? null : h.rebootRequired ? 'yes' : 'no')],
        ['SCAN', (h) => h.scanScore],
        ['LYNIS', (h) => h.lynisIndex],
        ['KEYCLOAK', (h) => (h.keycloakVersion ? `${h.keycloakVersion} ${h.versionStatus}` : h.versionStatus)],
      ]);
    });
  return maintenance;
}
