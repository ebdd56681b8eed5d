import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinary, repoRoot } from '@keyfleet/test-harness';
import { HELP } from '../../apps/hub/src/features/metrics/fleet-exposition.js';

const run = promisify(execFile);

/**
 * The parts of Grafana's dashboard JSON model (grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/)
 * that Grafana needs to import the file and draw it: no Grafana server runs offline, so the model
 * is checked here and each panel's PromQL by a real promtool.
 */
interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
}
interface Variable {
  name: string;
  type: string;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Variable[] };
  panels: Panel[];
}

const PANEL_TYPES = ['stat', 'timeseries', 'state-timeline', 'bargauge', 'gauge', 'table'];
const VARIABLE_TYPES = ['query', 'datasource', 'adhoc', 'custom', 'constant', 'interval', 'textbox'];
/** Grafana's own syntax for the data source variable, not a JS placeholder: the user picks it at import. */
const PROMETHEUS = { type: 'prometheus', uid: '$' + '{datasource}' };

/** Every way the file departs from the model, as `path: problem`; empty when it conforms. */
function modelErrors(d: Dashboard): string[] {
  const errors: string[] = [];
  const check = (ok: boolean, path: string, problem: string) => ok || errors.push(`${path}: ${problem}`);
  check(typeof d.uid === 'string' && /^[a-zA-Z0-9_-]{1,40}$/.test(d.uid), 'uid', 'Grafana allows 1-40 of [a-zA-Z0-9_-]');
  check(typeof d.title === 'string' && d.title !== '', 'title', 'required');
  check(Number.isInteger(d.schemaVersion), 'schemaVersion', 'an integer');
  check(Array.isArray(d.templating?.list), 'templating.list', 'an array');
  for (const [i, v] of (d.templating?.list ?? []).entries()) {
    check(/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(v.name), `templating.list[${i}].name`, 'a variable name');
    check(VARIABLE_TYPES.includes(v.type), `templating.list[${i}].type`, `one of ${VARIABLE_TYPES}`);
  }
  check(Array.isArray(d.panels) && d.panels.length > 0, 'panels', 'a non-empty array');
  const ids = new Set<number>();
  for (const [i, p] of (d.panels ?? []).entries()) {
    const at = `panels[${i}]`;
    check(Number.isInteger(p.id) && !ids.has(p.id), `${at}.id`, 'a unique integer');
    ids.add(p.id);
    check(PANEL_TYPES.includes(p.type), `${at}.type`, `one of ${PANEL_TYPES}`);
    check(typeof p.title === 'string' && p.title !== '', `${at}.title`, 'required');
    const g = p.gridPos;
    // The grid is 24 columns wide; a panel past it is cut off.
    check([g?.x, g?.y, g?.w, g?.h].every((n) => Number.isInteger(n) && n >= 0) && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${at}.gridPos`, 'x+w ≤ 24');
    check(JSON.stringify(p.datasource) === JSON.stringify(PROMETHEUS), `${at}.datasource`, 'the Prometheus the datasource variable picks');
    check(Array.isArray(p.targets) && p.targets.length > 0, `${at}.targets`, 'a non-empty array');
    const refIds = new Set<string>();
    for (const [j, t] of (p.targets ?? []).entries()) {
      check(typeof t.refId === 'string' && !refIds.has(t.refId), `${at}.targets[${j}].refId`, 'unique in the panel');
      refIds.add(t.refId);
      check(typeof t.expr === 'string' && t.expr !== '', `${at}.targets[${j}].expr`, 'a PromQL expression');
      check(JSON.stringify(t.datasource) === JSON.stringify(PROMETHEUS), `${at}.targets[${j}].datasource`, 'the panel’s');
    }
  }
  return errors;
}

/** Grafana's variables are not PromQL: what Grafana puts in their place before it queries. */
const asPromQL = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$host', '.*');

describe('deploy/grafana (dashboard model, real promtool)', () => {
  const promtool = findBinary('promtool', 'KEYFLEET_PROMTOOL', [], 'apt-get install prometheus');
  let scratch: string | undefined;
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('conforms to Grafana’s dashboard model, with host and host-label variables', async () => {
    const d = JSON.parse(await readFile(join(repoRoot, 'deploy/grafana/keyfleet-fleet.json'), 'utf8')) as Dashboard;
    expect(modelErrors(d)).toEqual([]);
    expect(d.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['host', 'query'],
      ['label', 'adhoc'],
    ]);
    // A model that is not a dashboard must fail, or the check above proves nothing.
    expect(modelErrors({ ...d, uid: 'a/b', panels: [{ ...d.panels[0]!, gridPos: { x: 20, y: 0, w: 8, h: 4 }, targets: [] }] })).toEqual([
      'uid: Grafana allows 1-40 of [a-zA-Z0-9_-]',
      'panels[0].gridPos: x+w ≤ 24',
      'panels[0].targets: a non-empty array',
    ]);
  });

  it('queries only series /v1/fleet/metrics serves, in PromQL promtool accepts', async () => {
    const d = JSON.parse(await readFile(join(repoRoot, 'deploy/grafana/keyfleet-fleet.json'), 'utf8')) as Dashboard;
    const exprs = d.panels.flatMap((p) => p.targets.map((t) => asPromQL(t.expr)));
    // Every kf_* name a panel reads must be one the fleet exposition declares, or the panel stays empty.
    const used = new Set(exprs.flatMap((e) => e.match(/\bkf_[a-z0-9_]+/g) ?? []));
    expect([...used].filter((n) => !(n in HELP))).toEqual([]);
    for (const needed of ['kf_host_up', 'kf_host_cpu_percent', 'kf_keycloak_login_failures_total', 'kf_cert_expires_in_seconds', 'kf_backup_age_seconds']) {
      expect(used).toContain(needed);
    }
    // promtool 2.42 has no `promql` command: each expression becomes a recording rule it parses.
    scratch = await mkdtemp(join(tmpdir(), 'kf-grafana-'));
    const rules = { groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:panel_${i}`, expr })) }] };
    await writeFile(join(scratch, 'rules.yml'), JSON.stringify(rules));
    const check = await run(promtool, ['check', 'rules', 'rules.yml'], { cwd: scratch });
    expect(check.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
