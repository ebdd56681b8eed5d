import { taskDefinitions } from '@keyfleet/proto/v1';
import { describe, expect, it } from 'vitest';
import { parseTaskParams } from './parse-task-params.js';

describe('parseTaskParams', () => {
  it('converts each value by the declared type of its key', () => {
    expect(parseTaskParams(taskDefinitions.noop, ['delayMs=500', 'fail=500'])).toEqual({ delayMs: 500, fail: '500' });
  });

  it('parses objects as JSON', () => {
    const login = { grant: 'client_credentials', realm: 'shop', clientId: 'probe', clientSecret: { $secret: 'p' } };
    expect(parseTaskParams(taskDefinitions['keycloak.verify'], [`login=${JSON.stringify(login)}`])).toEqual({ login });
  });

  it('refuses unknown keys naming the known ones, and values that cannot be the declared type', () => {
    expect(() => parseTaskParams(taskDefinitions.noop, ['delay=5'])).toThrow('noop has no parameter "delay"; its parameters: delayMs, sizeBytes, fail');
    expect(() => parseTaskParams(taskDefinitions['system.info'], ['x=1'])).toThrow('system.info has no parameter "x"; it takes none');
    expect(() => parseTaskParams(taskDefinitions.noop, ['delayMs=soon'])).toThrow('bad --param delayMs=soon for noop: expected an integer');
    expect(() => parseTaskParams(taskDefinitions.noop, ['delayMs=1.5'])).toThrow('expected an integer');
    expect(() => parseTaskParams(taskDefinitions['keycloak.verify'], ['login={oops'])).toThrow('expected JSON (object)');
    expect(() => parseTaskParams(taskDefinitions.noop, ['delayMs'])).toThrow('bad --param "delayMs": expected key=value');
  });
});
