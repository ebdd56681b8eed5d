import { z } from 'zod';
import { secretRef } from './secret-ref.js';

/**
 * An absolute URL, optionally ending in a `*` wildcard as Keycloak allows, a path relative to the
 * client's root URL, or `*`. Keycloak itself refuses javascript: URIs and fragments.
 */
const redirectUri = z.string().refine(
  (v) => {
    if (v === '*' || (v.startsWith('/') && !v.includes('#'))) return true;
    try {
      const u = new URL(v.endsWith('*') ? v.slice(0, -1) : v);
      return u.protocol !== 'javascript:' && !v.includes('#');
    } catch {
      return false;
    }
  },
  { message: 'must be an absolute URL (optionally ending in *) without a #fragment, a path starting with /, or *' },
);

/** A CORS origin: scheme://host[:port] with nothing after it, `+` (the redirect URIs' origins) or `*`. */
const webOrigin = z.string().refine(
  (v) => {
    if (v === '*' || v === '+') return true;
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === v;
    } catch {
      return false;
    }
  },
  { message: 'must be an origin like https://app.example.com[:port] (no path, no trailing /), + or *' },
);

const name = z.string().min(1).max(255);

const clientSpec = z
  .object({
    clientId: name,
    name: z.string().optional(),
    enabled: z.boolean().default(true),
    protocol: z.literal('openid-connect').default('openid-connect'),
    publicClient: z.boolean().default(false),
    secret: secretRef.optional(),
    redirectUris: z.array(redirectUri).default([]),
    webOrigins: z.array(webOrigin).default([]),
    standardFlowEnabled: z.boolean().default(true),
    directAccessGrantsEnabled: z.boolean().default(false),
    serviceAccountsEnabled: z.boolean().default(false),
    defaultClientScopes: z.array(name).optional(),
    optionalClientScopes: z.array(name).optional(),
  })
  .strict();

const clientScopeSpec = z
  .object({
    name,
    description: z.string().optional(),
    protocol: z.literal('openid-connect').default('openid-connect'),
    includeInTokenScope: z.boolean().default(true),
  })
  .strict();

const roleSpec = z.object({ name, description: z.string().optional() }).strict();

export interface GroupSpec {
  name: string;
  realmRoles?: string[];
  subGroups?: GroupSpec[];
}
export const groupSpec: z.ZodType<GroupSpec> = z
  .lazy(
    () =>
      z
        .object({
          // A group is identified by its path (/parent/child), so its name cannot hold the separator.
          name: name.regex(/^[^/]+$/, 'group names cannot contain /'),
          realmRoles: z.array(name).optional(),
          subGroups: z.array(groupSpec).optional(),
        })
        .strict(),
    // A named schema: generators (JSON Schema, OpenAPI) emit a $ref for the recursion instead of recursing forever.
  )
  .meta({ id: 'GroupSpec' });

const identityProviderSpec = z
  .object({
    alias: z.string().regex(/^[a-zA-Z0-9._-]+$/),
    providerId: z.string().min(1),
    enabled: z.boolean().default(true),
    displayName: z.string().optional(),
    config: z.record(z.string(), z.string()).default({}),
    clientSecret: secretRef.optional(),
  })
  .strict()
  .superRefine((idp, ctx) => {
    for (const key of Object.keys(idp.config)) {
      // A secret in plain config would be stored with the task and shown in every plan.
      if (key === 'clientSecret')
        ctx.addIssue({ code: 'custom', path: ['config', key], message: 'set the client secret with clientSecret (a secret reference), not in config' });
      if (key.startsWith('keyfleet.')) ctx.addIssue({ code: 'custom', path: ['config', key], message: 'config keys starting with keyfleet. are reserved' });
    }
  });

const smtpSpec = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    from: z.email(),
    fromDisplayName: z.string().optional(),
    starttls: z.boolean().default(true),
    ssl: z.boolean().default(false),
    user: z.string().optional(),
    password: secretRef.optional(),
  })
  .strict()
  .refine((s) => s.password === undefined || s.user !== undefined, { message: 'an SMTP password needs a user', path: ['user'] });

const bruteForceSpec = z
  .object({
    enabled: z.boolean(),
    failureFactor: z.number().int().min(1).optional(),
    waitIncrementSeconds: z.number().int().min(0).optional(),
    maxFailureWaitSeconds: z.number().int().min(0).optional(),
    permanentLockout: z.boolean().optional(),
  })
  .strict();

/**
 * A realm as code. Only what a spec declares is managed: an omitted section leaves the live
 * realm's section alone; a declared list (clients, roles, …) is the whole truth for that
 * kind, apart from Keycloak's built-ins. Unknown fields are errors, never ignored.
 */
export const realmSpec = z
  .object({
    realm: z.string().regex(/^[a-zA-Z0-9._-]{1,255}$/, 'realm names are 1-255 chars of [a-zA-Z0-9._-]'),
    enabled: z.boolean().default(true),
    displayName: z.string().optional(),
    loginWithEmailAllowed: z.boolean().optional(),
    registrationAllowed: z.boolean().optional(),
    sslRequired: z.enum(['all', 'external', 'none']).optional(),
    accessTokenLifespan: z.number().int().min(1).optional(),
    ssoSessionIdleTimeout: z.number().int().min(1).optional(),
    passwordPolicy: z.string().optional(),
    bruteForce: bruteForceSpec.optional(),
    smtp: smtpSpec.optional(),
    clients: z.array(clientSpec).optional(),
    clientScopes: z.array(clientScopeSpec).optional(),
    roles: z.array(roleSpec).optional(),
    groups: z.array(groupSpec).optional(),
    identityProviders: z.array(identityProviderSpec).optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    // Names identify items; a duplicate would make the spec say two things about one item.
    unique(ctx, spec.clients, (c) => c.clientId, ['clients'], 'clientId');
    unique(ctx, spec.clientScopes, (s) => s.name, ['clientScopes'], 'name');
    unique(ctx, spec.roles, (r) => r.name, ['roles'], 'name');
    unique(ctx, spec.identityProviders, (i) => i.alias, ['identityProviders'], 'alias');
    uniqueGroups(ctx, spec.groups, ['groups']);
    spec.clients?.forEach((c, i) => {
      const both = c.defaultClientScopes?.filter((s) => c.optionalClientScopes?.includes(s)) ?? [];
      for (const scope of both) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'optionalClientScopes'], message: `client scope "${scope}" cannot be both default and optional` });
      }
      if (!c.publicClient) return;
      // Keycloak would silently drop these on a public client, so the spec could never be in sync.
      if (c.secret) ctx.addIssue({ code: 'custom', path: ['clients', i, 'secret'], message: 'a public client has no secret' });
      if (c.serviceAccountsEnabled) {
        ctx.addIssue({ code: 'custom', path: ['clients', i, 'serviceAccountsEnabled'], message: 'a public client cannot have a service account' });
      }
    });
  });

function unique<T>(ctx: z.RefinementCtx, items: T[] | undefined, key: (item: T) => string, path: (string | number)[], field: string): void {
  const seen = new Set<string>();
  items?.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [...path, i, field], message: `duplicate ${field} "${k}"` });
    seen.add(k);
  });
}

function uniqueGroups(ctx: z.RefinementCtx, groups: GroupSpec[] | undefined, path: (string | number)[]): void {
  unique(ctx, groups, (g) => g.name, path, 'name');
  for (const [i, g] of (groups ?? []).entries()) uniqueGroups(ctx, g.subGroups, [...path, i, 'subGroups']);
}

export type RealmSpec = z.infer<typeof realmSpec>;
export type RealmSpecInput = z.input<typeof realmSpec>;
