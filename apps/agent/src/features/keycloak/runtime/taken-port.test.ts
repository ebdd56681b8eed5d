import { describe, expect, it } from 'vitest';
import { takenPort } from './taken-port.js';

describe('takenPort', () => {
  it("reads Keycloak's own bind failure", () => {
    const log =
      'INFO starting\nERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Port already bound: 41234: Address already in use';
    expect(takenPort(log, [41233, 41234])).toBe(41234);
  });

  it("reads docker's refusals to publish a port", () => {
    const allocated =
      '(HTTP code 500) server error - driver failed programming external connectivity on endpoint kf-next (3f2a41234b): Bind for 127.0.0.1:41234 failed: port is already allocated';
    const proxy = 'Error starting userland proxy: listen tcp4 127.0.0.1:41233: bind: address already in use';
    expect(takenPort(allocated, [41233, 41234])).toBe(41234);
    expect(takenPort(proxy, [41233, 41234])).toBe(41233);
  });

  it('is undefined for a failure naming no port of this start, or no bind failure at all', () => {
    // An earlier start's failure on other ports, then a different one.
    const log = 'ERROR: Port already bound: 38000: Address already in use\nERROR: Connection to 127.0.0.1:41234 refused';
    expect(takenPort(log, [41233, 41234])).toBeUndefined();
    expect(takenPort('ERROR: Port already bound: 141234: Address already in use', [41234])).toBeUndefined();
  });
});
