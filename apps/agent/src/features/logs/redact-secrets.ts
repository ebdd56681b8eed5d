const KEY_VALUE = /\b(password|passwd|pwd|client_secret|secret|access_token|refresh_token|token|api[_-]?key)(\s*[=:]\s*"?|"\s*:\s*")([^\s"&,;]+)/gi;
const AUTH_HEADER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;

/** A log line with the obvious secrets (`password=…`, `client_secret=…`, Bearer tokens) masked: they never leave the host. */
export function redactSecrets(line: string): string {
  return line.replace(KEY_VALUE, '$1$2[redacted]').replace(AUTH_HEADER, '$1 [redacted]');
}
