import { createTransport } from 'nodemailer';
import type { AlertChannelConfig } from './alert-channel.js';

type EmailChannel = Extract<AlertChannelConfig, { kind: 'email' }>;

/** Each step of an SMTP exchange gives up after this long, so a dead server fails one attempt, not the queue. */
const SMTP_TIMEOUT_MS = 10_000;

/**
 * Sends one plain-text mail through the channel's SMTP server (nodemailer), one connection per
 * mail: alerts are rare enough that a pool would only hold idle sockets. `password` comes from
 * the hub's secret store. Throws with the server's answer when the mail is not accepted.
 */
export async function sendEmail(channel: EmailChannel, password: string | undefined, mail: { subject: string; text: string }): Promise<void> {
  const transport = createTransport({
    host: channel.host,
    port: channel.port,
    secure: channel.security === 'tls',
    // STARTTLS is required, not opportunistic: a server that does not offer it fails the send.
    requireTLS: channel.security === 'starttls',
    ignoreTLS: channel.security === 'none',
    auth: channel.username ? { user: channel.username, pass: password ?? '' } : undefined,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  try {
    await transport.sendMail({ from: channel.from, to: channel.to, subject: mail.subject, text: mail.text });
  } finally {
    transport.close();
  }
}
