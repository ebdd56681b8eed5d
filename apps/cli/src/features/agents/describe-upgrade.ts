/** A host's last upgrade in one line for tables: `0.1.0 → 0.2.0 upgraded`, `… ROLLED BACK: why`. */
export function describeUpgrade(u: { from: string | null; to: string; state: string; reason: string | null; deadlineAt: string | null } | null): string {
  if (!u) return '';
  const versions = `${u.from ?? '?'} → ${u.to}`;
  switch (u.state) {
    case 'restarting':
      return `${versions} restarting (rolled back unless it reports by ${u.deadlineAt})`;
    case 'upgraded':
      return `${versions} upgraded`;
    case 'rolled_back':
      return `${versions} ROLLED BACK: ${u.reason ?? ''}`;
    default:
      return `→ ${u.to} FAILED: ${u.reason ?? ''}`;
  }
}
