import { describe, expect, it } from 'vitest';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { defineFeature } from '../agent-feature.js';
import { composeFeatures } from '../compose-features.js';
import type { Handlers } from '../task-handler.js';
import { features } from './index.js';
import { keycloakFeature } from './keycloak/keycloak-feature.js';
import { noop } from './system/noop.js';
import { systemFeature } from './system/system-feature.js';

describe('the composed features', () => {
  it('have exactly one handler per declared task type', () => {
    expect(Object.keys(features.handlers).sort()).toEqual(Object.keys(taskDefinitions).sort());
  });

  it('make a declared type without a handler a type error (checked by tsc)', () => {
    // @ts-expect-error -- 'system.info' is declared in proto but missing here
    const incomplete: Handlers = { noop };
    expect(Object.keys(incomplete)).toEqual(['noop']);
    // @ts-expect-error -- no feature handles the keycloak.* types
    expect(Object.keys(composeFeatures([systemFeature]).handlers)).toEqual(Object.keys(systemFeature.handlers));
  });

  it('refuse a task type handled by two features, at compile time and at run time', () => {
    const again = defineFeature({ name: 'system-again', handlers: { noop } });
    // @ts-expect-error -- noop has two handlers
    expect(() => composeFeatures([systemFeature, keycloakFeature, again])).toThrow(
      'task type "noop" has two handlers: in feature "system" and in feature "system-again"',
    );
  });

  it('collect every service and subcommand of every feature', () => {
    expect(features.services.map((s) => s.name)).toContain('keycloak-front-watchdog');
    expect(features.commands).toContain(keycloakFeature.commands);
  });
});
