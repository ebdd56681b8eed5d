import { defineRule, type RuleEnv } from '../hardening-rule.js';
import { type KeycloakAdminApi, keycloakAdminApi } from '../keycloak-admin-api.js';
import { RuleRefused } from '../rule-refused.js';

const CONFIGURE_TOTP = 'CONFIGURE_TOTP';

interface AdminUser {
  id: string;
  username: string;
  requiredActions: string[];
  otp: boolean;
}

/** The before-state: each changed admin's required actions as they were. */
type Before = Array<{ id: string; username: string; requiredActions: string[] }>;

interface Posture {
  /** Admins of the master realm, the agent's own account left out (see `agentAccount`). */
  admins: AdminUser[];
  agentAccount: string;
  /** Whether the master realm's browser flow has an OTP step that is not disabled. */
  flowAsksOtp: boolean;
  flow: string;
}

async function posture(api: KeycloakAdminApi, agentAccount: string): Promise<Posture> {
  const realm = await api.get<{ browserFlow?: string }>('/master');
  const flow = realm.browserFlow ?? 'browser';
  const steps = await api.get<Array<{ providerId?: string; requirement?: string }>>(`/master/authentication/flows/${encodeURIComponent(flow)}/executions`);
  const flowAsksOtp = steps.some((s) => s.providerId === 'auth-otp-form' && s.requirement !== 'DISABLED');
  // Holders of the master realm's admin role: whoever has them controls every realm.
  const holders = await api.get<Array<{ id: string; username: string }>>('/master/roles/admin/users?first=0&max=1000');
  const admins: AdminUser[] = [];
  for (const h of holders) {
    if (h.username === agentAccount) continue;
    const [user, credentials] = await Promise.all([
      api.get<{ requiredActions?: string[] }>(`/master/users/${h.id}`),
      api.get<Array<{ type: string }>>(`/master/users/${h.id}/credentials`),
    ]);
    admins.push({ id: h.id, username: h.username, requiredActions: user.requiredActions ?? [], otp: credentials.some((c) => c.type === 'otp') });
  }
  return { admins, agentAccount, flowAsksOtp, flow };
}

const passwordOnly = (a: AdminUser) => !a.otp && !a.requiredActions.includes(CONFIGURE_TOTP);
const show = (a: AdminUser) => `${a.username}: ${a.otp ? 'OTP' : a.requiredActions.includes(CONFIGURE_TOTP) ? 'OTP set-up pending' : 'password only'}`;

async function read(env: RuleEnv) {
  const access = env.params.keycloak!;
  const api = await keycloakAdminApi(access, env.signal);
  return { api, p: await posture(api, access.adminUser) };
}

/**
 * Master-realm admins log in with a second factor: each has an OTP credential, or the
 * CONFIGURE_TOTP required action so the next login makes them set one up; and the master realm's
 * browser flow asks for OTP (Keycloak's default conditional OTP step). Apply adds the required
 * action to each password-only admin (rollback removes it again); a flow without an OTP step is
 * the operator's to fix, as changing authentication flows can lock every admin out.
 *
 * The agent's own account is left out: it logs in with the password grant, which a pending
 * required action would refuse, cutting the agent off from its Keycloak.
 */
export const keycloakAdminOtpRule = defineRule<Before>({
  id: 'keycloak.admin-otp',
  title: 'Keycloak: master realm admins need a second factor',
  why: 'A master-realm admin controls every realm; a phished or guessed password alone must not be enough.',
  async check(env) {
    if (!env.params.keycloak) return { status: 'not-applicable', current: '-', wanted: '-', reason: 'no Keycloak installed by this agent', changes: [] };
    const { p } = await read(env);
    const weak = p.admins.filter(passwordOnly);
    const current = [
      `browser flow ${p.flow} ${p.flowAsksOtp ? 'asks for OTP' : 'has no OTP step'}`,
      ...p.admins.map(show),
      `(${p.agentAccount}: the agent's own account, left out)`,
    ].join('; ');
    return {
      status: weak.length === 0 && p.flowAsksOtp ? 'pass' : 'fail',
      current,
      wanted: 'every master-realm admin has OTP or must set it up at the next login, and the browser flow asks for it',
      ...(p.flowAsksOtp ? {} : { reason: `fix by hand: add an OTP step (OTP Form) to the master realm's ${p.flow} flow` }),
      changes: weak.map((a) => ({ target: `master user ${a.username}`, before: 'password only', after: 'required action CONFIGURE_TOTP' })),
    };
  },
  async apply(env) {
    const { api, p } = await read(env);
    if (!p.flowAsksOtp) throw new RuleRefused(`refused: the master realm's ${p.flow} flow asks for no OTP; add an OTP step by hand first`);
    const before: Before = [];
    for (const a of p.admins.filter(passwordOnly)) {
      before.push({ id: a.id, username: a.username, requiredActions: a.requiredActions });
      await api.put(`/master/users/${a.id}`, { requiredActions: [...a.requiredActions, CONFIGURE_TOTP] });
    }
    return before;
  },
  async rollback(env, before) {
    const api = await keycloakAdminApi(env.params.keycloak!, env.signal);
    for (const b of before) {
      // An admin who set OTP up since has no pending action left to take back; their OTP stays.
      const user = await api.get<{ requiredActions?: string[] }>(`/master/users/${b.id}`).catch(() => undefined);
      if (!user) continue;
      const added = (user.requiredActions ?? []).includes(CONFIGURE_TOTP) && !b.requiredActions.includes(CONFIGURE_TOTP);
      if (added) await api.put(`/master/users/${b.id}`, { requiredActions: b.requiredActions });
    }
  },
});
