import { type AlertNotice, noticeFacts, noticeTitle } from './alert-notice.js';

const EMOJI = { firing: ':rotating_light:', repeat: ':rotating_light:', resolved: ':white_check_mark:' } as const;

/**
 * A Slack incoming-webhook message (Block Kit): the title as `text` (what notifications and
 * clients without blocks show), then severity, host, rule and state as fields, the summary, and
 * a button to the alert when the hub knows its public URL.
 */
export function slackMessage(n: AlertNotice): { text: string; blocks: unknown[] } {
  const title = `${EMOJI[n.transition]} ${noticeTitle(n)}`;
  const facts = noticeFacts(n);
  return {
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: mrkdwn(n.alert.summary) } },
      // Slack shows at most 10 fields per section.
      { type: 'section', fields: facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${mrkdwn(v)}` })) },
      ...(n.link
        ? [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Keyfleet' }, url: n.link, action_id: 'open-alert' }] }]
        : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `alert ${n.alert.id} · notification ${n.deliveryId}` }] },
    ],
  };
}

/** Slack's mrkdwn treats &, < and > as markup: a label value must not become a link or a mention. */
const mrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
