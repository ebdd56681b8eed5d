import { defineTask } from '../define-task.js';
import { describeHardening, hardeningReport, hardeningSelection } from './hardening-common.js';

export const hardeningAudit = defineTask({
  name: 'hardening.audit',
  description:
    'Checks the host against a hardening profile and reports each rule: pass, fail or not applicable, with the value seen and the value wanted; changes nothing.',
  input: hardeningSelection,
  output: hardeningReport,
  defaultTimeoutMs: 60_000,
  summary: describeHardening,
});
