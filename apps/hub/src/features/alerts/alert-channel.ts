import { z } from '@hono/zod-openapi';
import { secretRef } from '@keyfleet/proto/v1';

/** A hub secret's name (`keyfleet secrets set`): channels hold names, never the values. */
const secretName = secretRef.shape.$secret;

/**
 * Where notifications go, one of three kinds. Whatever would let someone post as Keyfleet (an
 * HMAC key, a Slack webhook URL, an SMTP password) is a hub secret named here, so the channel
 * row, its API view and the logs never hold it.
 */
export const alertChannelInput = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('webhook'),
        url: z.url({ protocol: /^https?$/ }).max(2000),
        secret: secretName.optional().describe('Name of a hub secret: the HMAC-SHA256 key of the x-keyfleet-signature header'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('slack'),
        // Slack's incoming-webhook URL is itself the credential: anyone holding it can post.
        urlSecret: secretName.describe('Name of a hub secret holding the Slack incoming-webhook URL'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('email'),
        host: z.string().min(1).max(253),
        port: z.number().int().min(1).max(65535).default(587),
        /** starttls: upgrade on the submission port and refuse to send in clear; tls: TLS from the first byte (465); none: only for a relay on loopback. */
        security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
        username: z.string().max(253).optional(),
        passwordSecret: secretName.optional().describe('Name of a hub secret holding the SMTP password'),
        from: z.email().max(253),
        to: z.array(z.email().max(253)).min(1).max(50),
      })
      .strict()
      .refine((c) => !c.passwordSecret || c.username, { message: 'a password needs a username', path: ['username'] }),
  ])
  .openapi('AlertChannelInput');

export type AlertChannelConfig = z.output<typeof alertChannelInput>;
export type AlertChannelKind = AlertChannelConfig['kind'];

/** Where a channel sends, for lists: never a secret, only the names of the ones it uses. */
export function channelTarget(c: AlertChannelConfig): string {
  if (c.kind === 'webhook') return c.url;
  if (c.kind === 'slack') return `slack (URL in secret ${c.urlSecret})`;
  return `${c.to.join(', ')} via ${c.host}:${c.port}`;
}

/** The hub secrets a channel uses. */
export function channelSecrets(c: AlertChannelConfig): string[] {
  if (c.kind === 'webhook') return c.secret ? [c.secret] : [];
  if (c.kind === 'slack') return [c.urlSecret];
  return c.passwordSecret ? [c.passwordSecret] : [];
}

/** A stored channel's settings, typed by its kind (the column is the truth: early rows' config has no `kind`). */
export function channelConfig(row: { kind: AlertChannelKind; config: Record<string, unknown> }): AlertChannelConfig {
  return { ...row.config, kind: row.kind } as AlertChannelConfig;
}
