/**
 * The terms of a Keycloak password policy ("length(12) and digits(1)"), trimmed and sorted:
 * Keycloak keys policies by id, so their order carries no meaning.
 */
export function passwordPolicyTerms(policy: string | undefined): string[] {
  return (policy ?? '')
    .split(/\s+and\s+/)
    .map((term) => term.trim())
    .filter((term) => term !== '')
    .sort();
}
