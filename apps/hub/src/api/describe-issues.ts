import type { ZodError } from 'zod';

/** `params.delayMs: Invalid input: expected number, received string; ...` — names each field. */
export function describeIssues(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
