/** One notification about one alert, as every channel kind renders it. */
export interface AlertNotice {
  deliveryId: string;
  /** `repeat`: still firing and unacknowledged after the rule's repeat interval. */
  transition: 'firing' | 'resolved' | 'repeat';
  alert: {
    id: string;
    rule: string;
    severity: string;
    summary: string;
    hostId: string;
    hostname: string;
    labels: Record<string, string>;
    value: number | null;
    startedAt: Date;
    firedAt: Date | null;
    resolvedAt: Date | null;
  };
  /** The alert on the hub (KEYFLEET_PUBLIC_URL), when the hub knows its public address. */
  link?: string;
}

const HEADLINE = { firing: 'FIRING', repeat: 'STILL FIRING', resolved: 'RESOLVED' } as const;

/** `[FIRING critical] host-offline on kc1`: what a mail subject or a chat line leads with. */
export function noticeTitle(n: AlertNotice): string {
  return `[${HEADLINE[n.transition]} ${n.alert.severity}] ${n.alert.rule} on ${n.alert.hostname}`;
}

/** The facts of a notice, one per line, for a plain-text mail and the Slack fields. */
export function noticeFacts(n: AlertNotice): Array<[string, string]> {
  const a = n.alert;
  const facts: Array<[string, string]> = [
    ['Rule', a.rule],
    ['Severity', a.severity],
    ['Host', `${a.hostname} (${a.hostId})`],
    ['State', HEADLINE[n.transition].toLowerCase()],
  ];
  const labels = Object.entries(a.labels);
  if (labels.length > 0) facts.push(['Labels', labels.map(([k, v]) => `${k}=${v}`).join(', ')]);
  if (a.value !== null) facts.push(['Value', String(Number(a.value.toPrecision(4)))]);
  facts.push(['Since', (a.firedAt ?? a.startedAt).toISOString()]);
  if (a.resolvedAt) facts.push(['Resolved', a.resolvedAt.toISOString()]);
  return facts;
}

/** A plain-text body: the summary, the facts, the link. */
export function noticeText(n: AlertNotice): string {
  const width = Math.max(...noticeFacts(n).map(([k]) => k.length));
  return [
    n.alert.summary,
    '',
    ...noticeFacts(n).map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`),
    ...(n.link ? ['', n.link] : []),
    '',
    `Keyfleet alert ${n.alert.id}, notification ${n.deliveryId}`,
  ].join('\n');
}
