import { z } from 'zod';

/** A rule's stable dotted id (`files.keycloak-conf`, `sysctl.network`, `ssh.daemon`, `net.firewall`). */
export const hardeningRuleId = z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'a rule id like sysctl.network');

const cidr = z.string().regex(/^[0-9a-f.:]+\/\d{1,3}$/i, 'a CIDR like 10.0.0.0/8');
const port = z.number().int().min(1).max(65535);

/**
 * Parameters of the built-in `keycloak-host` profile. Everything has a default taken from the
 * host (the installed Keycloak, the agent's own state), so an empty object audits a host as it is.
 */
export const hardeningParams = z
  .object({
    /** Keycloak's runtime; default: the installed instance's. `docker` keeps `net.ipv4.ip_forward` on (Docker needs it). */
    runtime: z.enum(['docker', 'process']).optional(),
    /** Owner (user name) of Keycloak's config, keys and certificates; default: the owner of the agent's state dir. */
    fileOwner: z.string().min(1).max(64).optional(),
    ssh: z
      .object({
        /**
         * The key-based ways in the operator relies on (user names). The SSH rule refuses to apply
         * unless one of them, other than root, has an authorized key: otherwise it would lock everyone out.
         */
        access: z.array(z.string().min(1).max(64)).default([]),
      })
      .strict()
      .default({ access: [] }),
    /** The nftables firewall; the rule is not applicable until this is given. */
    firewall: z
      .object({
        sshPort: port.default(22),
        sshCidrs: z.array(cidr).min(1),
        publicPorts: z.array(port).default([443]),
        managementPort: port.default(9000),
        monitoringCidrs: z.array(cidr).default([]),
        /** Where NATS is reached (host:port); default: the agent's own servers. Outbound traffic elsewhere stays open. */
        natsEndpoints: z
          .array(z.object({ host: z.string().min(1).max(253), port }).strict())
          .min(1)
          .optional(),
        /** Seconds the agent waits to reach NATS through the new ruleset before putting the old one back (the dead-man switch). */
        confirmSeconds: z.number().int().min(1).max(600).default(60),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Which rules and parameters a run uses; operators disable rules with a reason, kept in every finding. */
export const hardeningSelection = z
  .object({
    profile: z.literal('keycloak-host').default('keycloak-host'),
    params: hardeningParams.default({ ssh: { access: [] } }),
    disabled: z
      .array(z.object({ rule: hardeningRuleId, reason: z.string().min(1).max(500) }).strict())
      .max(100)
      .default([]),
  })
  .strict();

/** One thing a rule would change (or changed): a file's owner/mode, a sysctl, a config file, the ruleset. */
export const hardeningChange = z.object({
  target: z.string(),
  before: z.string(),
  after: z.string(),
});

/** A rule's verdict on this host: the value seen against the value wanted, and what applying it changes. */
export const hardeningFinding = z.object({
  rule: hardeningRuleId,
  title: z.string(),
  why: z.string(),
  status: z.enum(['pass', 'fail', 'not-applicable', 'disabled', 'error']),
  current: z.string(),
  wanted: z.string(),
  /** Why not applicable, disabled (the operator's reason) or an error. */
  reason: z.string().optional(),
  changes: z.array(hardeningChange).default([]),
});

/** An audit: every rule's finding and the share of applicable rules that pass (0–100). */
export const hardeningReport = z.object({
  profile: z.string(),
  checkedAt: z.iso.datetime(),
  score: z.number().min(0).max(100),
  findings: z.array(hardeningFinding),
});

export type HardeningReport = z.output<typeof hardeningReport>;

/** "score 83, 5 pass, 1 fail (ssh.daemon)" */
export function describeHardening(r: HardeningReport): string {
  const count = (s: string) => r.findings.filter((f) => f.status === s).length;
  const failing = r.findings.filter((f) => f.status === 'fail' || f.status === 'error').map((f) => f.rule);
  return `score ${r.score}, ${count('pass')} pass, ${failing.length} fail${failing.length ? ` (${failing.join(', ')})` : ''}`;
}
