import type { SecretRef } from '@keyfleet/proto/v1';
import { TaskFailure } from './task-failure.js';

/** The value the hub filled into a secret reference; a reference without one is the caller's error. */
export function secretValue(ref: SecretRef): string {
  if (ref.value === undefined) throw new TaskFailure('invalid_input', `secret ${ref.$secret} was not resolved by the hub`);
  return ref.value;
}
