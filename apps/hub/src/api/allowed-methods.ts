import type { RouterRoute } from 'hono/types';

const compiled = new WeakMap<RouterRoute, RegExp>();

function pattern(route: RouterRoute): RegExp {
  let re = compiled.get(route);
  if (!re) {
    const source = route.path
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    re = new RegExp(`^${source}$`);
    compiled.set(route, re);
  }
  return re;
}

/**
 * The methods some route answers on this path, for a 405's Allow header; empty when no route
 * has the path at all (a 404). Middleware (method ALL) does not make a path exist. As in
 * OpenAPI, a concrete path wins over a templated one: /v1/backups/prune is its own resource
 * even though /v1/backups/{id} would match it too. GET implies HEAD, which hono serves from the
 * GET route, and OPTIONS is answered for every known path.
 */
export function allowedMethods(routes: readonly RouterRoute[], path: string): string[] {
  const matching = routes.filter((route) => route.method !== 'ALL' && pattern(route).test(path));
  const params = (route: RouterRoute) => route.path.split('/').filter((segment) => segment.startsWith(':') || segment === '*').length;
  const fewest = Math.min(...matching.map(params));
  const methods = new Set(matching.filter((route) => params(route) === fewest).map((route) => route.method.toUpperCase()));
  if (methods.size === 0) return [];
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
  return [...methods].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
}
