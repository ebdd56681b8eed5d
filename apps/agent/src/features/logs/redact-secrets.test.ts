import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact-secrets.js';

describe('redactSecrets', () => {
  it('masks key=value secrets, JSON secrets and Authorization credentials', () => {
    expect(redactSecrets('login password=hunter2 user=alice')).toBe('login password=[redacted] user=alice');
    expect(redactSecrets('grant client_secret=s3cr3t&grant_type=x')).toBe('grant client_secret=[redacted]&grant_type=x');
    expect(redactSecrets('{"password":"hunter2","user":"alice"}')).toBe('{"password":"[redacted]","user":"alice"}');
    expect(redactSecrets('Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig')).toBe('Authorization: Bearer [redacted]');
  });

  it('leaves lines without secrets as they are', () => {
    expect(redactSecrets('INFO [io.quarkus] Keycloak 26.0 started in 4.2s')).toBe('INFO [io.quarkus] Keycloak 26.0 started in 4.2s');
  });
});
