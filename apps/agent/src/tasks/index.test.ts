import { describe, expect, it } from 'vitest';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { handlers, type Handlers } from './index.js';
import { noop } from './noop.js';

describe('task registry', () => {
  it('has exactly one handler per declared task type', () => {
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(taskDefinitions).sort());
  });

  it('makes a declared type without a handler a type error (checked by tsc)', () => {
    // @ts-expect-error -- 'system.info' is declared in proto but missing here
    const incomplete: Handlers = { noop };
    expect(Object.keys(incomplete)).toEqual(['noop']);
  });
});
