import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { realmSpec } from '../realm-spec.js';

/** One difference between a spec and the live realm; secrets are shown as `***`. */
export const realmChange = z.object({
  resource: z.enum(['realm', 'client', 'clientScope', 'role', 'group', 'identityProvider', 'smtp', 'bruteForce']),
  id: z.string(),
  action: z.enum(['create', 'update', 'delete']),
  fields: z
    .array(
      z.object({
        path: z.string(),
        from: z.unknown(),
        to: z.unknown(),
        /** Why a masked (`***`) field is listed, e.g. "changed", since its values cannot be shown. */
        note: z.string().optional(),
      }),
    )
    .optional(),
});

export const realmDiff = z.object({ realm: z.string(), inSync: z.boolean(), changes: z.array(realmChange) });

/** "realm shop: in sync" or "realm shop: 1 create, 2 update, 0 delete". */
const describeDiff = (o: z.output<typeof realmDiff>) => {
  if (o.changes.length === 0) return `realm ${o.realm}: in sync`;
  const n = (action: string) => o.changes.filter((c) => c.action === action).length;
  return `realm ${o.realm}: ${n('create')} create, ${n('update')} update, ${n('delete')} delete`;
};

export const keycloakRealmPlan = defineTask({
  name: 'keycloak.realm.plan',
  description: 'Compares a declarative realm spec with the live realm; an empty plan means in sync (drift detection).',
  input: z.object({ spec: realmSpec }).strict(),
  output: realmDiff,
  defaultTimeoutMs: 2 * 60_000,
  summary: describeDiff,
});

export const keycloakRealmApply = defineTask({
  name: 'keycloak.realm.apply',
  description: 'Applies a realm spec idempotently and returns what changed.',
  input: z.object({ spec: realmSpec }).strict(),
  output: realmDiff,
  defaultTimeoutMs: 5 * 60_000,
  summary: describeDiff,
});
