import type { RealmChange, RealmResult } from './realm-results.js';

const RESOURCE_LABELS: Record<RealmChange['resource'], string> = {
  realm: 'realm',
  client: 'client',
  clientScope: 'client scope',
  role: 'role',
  group: 'group',
  identityProvider: 'identity provider',
  smtp: 'smtp',
  bruteForce: 'brute force',
};
const MARKS: Record<RealmChange['action'], string> = { create: '+', update: '~', delete: '-' };

/** A field value as an operator reads it: lists in brackets, strings bare, nothing as `(none)`. */
function show(v: unknown): string {
  if (v === undefined || v === null) return '(none)';
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'string') return v === '' ? '""' : v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** `+ client app-web`, `~ client app-web: redirectUris [a] → [a, b]`, or one field per line when several changed. */
function changeLines(c: RealmChange): string[] {
  const head = `${MARKS[c.action]} ${RESOURCE_LABELS[c.resource]} ${c.id}`;
  const fields = (c.fields ?? []).map((f) => `${f.path} ${show(f.from)} → ${show(f.to)}${f.note ? ` (${f.note})` : ''}`);
  if (fields.length === 0) return [head];
  if (fields.length === 1) return [`${head}: ${fields[0]}`];
  return [`${head}:`, ...fields.map((f) => `    ${f}`)];
}

/**
 * The per-host diff of a realm plan (what would change) or apply (what changed),
 * as lines for a terminal: a heading per host, then one line per change.
 */
export function renderRealmDiff(results: RealmResult[], mode: 'plan' | 'apply'): string {
  const lines: string[] = [];
  for (const r of results) {
    if (!r.ok) {
      lines.push(`${r.hostId}  ${r.state === 'succeeded' ? 'failed' : r.state}: ${r.reason}`);
      continue;
    }
    const n = r.changes.length;
    const heading =
      n === 0 ? (mode === 'plan' ? 'in sync' : 'in sync, nothing changed') : `${n} change${n === 1 ? '' : 's'}${mode === 'apply' ? ' applied' : ''}`;
    lines.push(`${r.hostId}  realm ${r.realm}: ${heading}`);
    for (const c of r.changes) lines.push(...changeLines(c).map((l) => `  ${l}`));
  }
  return lines.length ? `${lines.join('\n')}\n` : '(no hosts)\n';
}

/** A one-line summary of an apply's changes for tables, e.g. `+ client web, ~ realm demo`. */
export function summarizeRealmChanges(changes: RealmChange[]): string {
  if (changes.length === 0) return 'no changes';
  const text = changes.map((c) => `${MARKS[c.action]} ${RESOURCE_LABELS[c.resource]} ${c.id}`).join(', ');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
