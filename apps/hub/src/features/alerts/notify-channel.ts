import { createHmac } from 'node:crypto';
import type { SecretStore } from '../../secrets/secret-store.js';
import { type AlertChannelConfig, channelSecrets } from './alert-channel.js';
import { type AlertNotice, noticeText, noticeTitle } from './alert-notice.js';
import { sendEmail } from './send-email.js';
import { slackMessage } from './slack-message.js';

export const SIGNATURE_HEADER = 'x-keyfleet-signature';
const SEND_TIMEOUT_MS = 10_000;

/** HMAC-SHA256 of the exact body with the channel's secret, as `sha256=<hex>`. */
export const signBody = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** What goes out: a notice about an alert, or `channels test`'s message. */
export type ChannelMessage = { kind: 'alert'; notice: AlertNotice } | { kind: 'test'; channel: string };

/**
 * Sends one message through a channel of any kind, with its secrets opened from the hub's store
 * just for this send. Throws with a reason fit for the delivery log: it never holds a secret
 * (a Slack URL is one), so it is safe to store and show.
 */
export async function notifyChannel(secrets: SecretStore, channel: AlertChannelConfig, message: ChannelMessage): Promise<void> {
  const names = channelSecrets(channel);
  const { values, problems } = await secrets.reveal(names);
  for (const name of names) if (!values.has(name)) throw new Error(problems.get(name) ?? `secret ${name} unavailable`);

  if (channel.kind === 'webhook') {
    const payload =
      message.kind === 'test'
        ? { kind: 'keyfleet.test', channel: message.channel, sentAt: new Date().toISOString() }
        : {
            kind: 'keyfleet.alert',
            deliveryId: message.notice.deliveryId,
            transition: message.notice.transition,
            alert: message.notice.alert,
            link: message.notice.link,
            sentAt: new Date().toISOString(),
          };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'keyfleet-hub' };
    if (channel.secret) headers[SIGNATURE_HEADER] = signBody(values.get(channel.secret)!, body);
    await post(channel.url, headers, body, channel.url);
    return;
  }

  if (channel.kind === 'slack') {
    const body = JSON.stringify(message.kind === 'test' ? { text: `Keyfleet test notification for channel ${message.channel}` } : slackMessage(message.notice));
    // Named without its URL: the URL is the secret.
    await post(values.get(channel.urlSecret)!, { 'content-type': 'application/json', 'user-agent': 'keyfleet-hub' }, body, 'Slack');
    return;
  }

  const password = channel.passwordSecret ? values.get(channel.passwordSecret) : undefined;
  const mail =
    message.kind === 'test'
      ? {
          subject: `Keyfleet test notification for channel ${message.channel}`,
          text: `Channel ${message.channel} works: this mail came from the Keyfleet hub.`,
        }
      : { subject: noticeTitle(message.notice), text: noticeText(message.notice) };
  await sendEmail(channel, password, mail);
}

async function post(url: string, headers: Record<string, string>, body: string, name: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  } catch (err) {
    // fetch's own message names no URL; its cause says why (ECONNREFUSED, a timeout).
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    // A URL that does not parse is echoed in the message: the name stands in for it (a Slack URL is a secret).
    throw new Error(`${name}: ${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`.replaceAll(url, name));
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw new Error(`${name} answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}
