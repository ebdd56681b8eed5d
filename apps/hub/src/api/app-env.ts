/** The authenticated caller of a request. */
export interface Actor {
  /** How the audit log names the caller, e.g. `ci-bot (tok_...)` or `enrollment:enr_...`. */
  label: string;
  /** The API token the request came with, when it came with one. */
  tokenId?: string;
}

/** What the audit trail records about a mutating request; routes fill it as they learn more. */
export interface AuditNote {
  action: string;
  target?: string;
  detail?: Record<string, unknown>;
}

export interface AppEnv {
  Variables: {
    actor?: Actor;
    audit?: AuditNote;
  };
}
