import { defineFeature } from '../../agent-feature.js';
import { agentDiagnostics } from './agent-diagnostics.js';
import { noop } from './noop.js';
import { systemInfo } from './system-info.js';

/** Tasks about the host and the agent itself. */
export const systemFeature = defineFeature({
  name: 'system',
  handlers: {
    noop,
    'system.info': systemInfo,
    'agent.diagnostics': agentDiagnostics,
  },
});
