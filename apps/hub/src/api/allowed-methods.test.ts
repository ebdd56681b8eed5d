import type { RouterRoute } from 'hono/types';
import { describe, expect, it } from 'vitest';
import { allowedMethods } from './allowed-methods.js';

const handler = () => undefined;
const routes = [
  { method: 'ALL', path: '*', handler },
  { method: 'GET', path: '/v1/tasks', handler },
  { method: 'POST', path: '/v1/tasks', handler },
  { method: 'GET', path: '/v1/backups/:id', handler },
  { method: 'DELETE', path: '/v1/backups/:id', handler },
  { method: 'POST', path: '/v1/backups/prune', handler },
] as unknown as RouterRoute[];

describe('allowedMethods', () => {
  it('lists the methods of the path’s routes, with HEAD for GET and OPTIONS; none for an unknown path', () => {
    expect(allowedMethods(routes, '/v1/tasks')).toEqual(['GET', 'HEAD', 'POST', 'OPTIONS']);
    expect(allowedMethods(routes, '/v1/backups/b_1')).toEqual(['GET', 'HEAD', 'DELETE', 'OPTIONS']);
    expect(allowedMethods(routes, '/v1/nothing')).toEqual([]);
    expect(allowedMethods(routes, '/v1/tasks/x/y')).toEqual([]);
  });

  it('takes a concrete path over a templated one that also matches it, as OpenAPI does', () => {
    expect(allowedMethods(routes, '/v1/backups/prune')).toEqual(['POST', 'OPTIONS']);
  });
});
