import { defineFeature } from '../../agent-feature.js';
import { lazyHandler } from '../../lazy-handler.js';

/** Tasks about the host and the agent itself. */
export const systemFeature = defineFeature({
  name: 'system',
  handlers: {
    noop: lazyHandler(() => import('./noop.js').then((m) => m.noop)),
    'system.info': lazyHandler(() => import('./system-info.js').then((m) => m.systemInfo)),
    'agent.diagnostics': lazyHandler(() => import('./agent-diagnostics.js').then((m) => m.agentDiagnostics)),
  },
});
