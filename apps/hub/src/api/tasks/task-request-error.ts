import { isTaskName, taskDefinitions } from '@keyfleet/proto/v1';
import type { ZodError } from 'zod';
import { ApiError } from '../api-error.js';
import { describeIssues } from '../describe-issues.js';

/** A refused `POST /v1/tasks` body explained in the operator's terms: which type, which params, what is known. */
export function taskRequestError(body: unknown, error: ZodError): ApiError {
  const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && !isTaskName(type)) {
    const knownTypes = Object.keys(taskDefinitions);
    return new ApiError(400, `unknown task type "${type}"; known types: ${knownTypes.join(', ')}`, { knownTypes });
  }
  const paramIssues = error.issues.filter((i) => i.path[0] === 'params').map((i) => ({ ...i, path: i.path.slice(1) }));
  if (typeof type === 'string' && paramIssues.length > 0 && paramIssues.length === error.issues.length) {
    return new ApiError(400, `invalid params for ${type}: ${describeIssues({ issues: paramIssues } as ZodError)}`, paramIssues);
  }
  return new ApiError(400, `invalid body: ${describeIssues(error)}`, error.issues);
}
