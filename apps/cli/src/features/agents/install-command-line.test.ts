import { describe, expect, it } from 'vitest';
import { installCommandLines, shellQuote } from './install-command-line.js';

describe('installCommandLines', () => {
  const lines = installCommandLines({ hubUrl: 'https://hub.example.com/', token: 'kfe_abc-DEF_1', version: '1.2.0', sha256: 'a'.repeat(64) });

  it('hands the token over as an environment assignment of sh, never as an argument', () => {
    expect(lines.install).toBe(
      `curl -fsSL https://hub.example.com/v1/agent/install.sh | KEYFLEET_ENROLL_TOKEN=kfe_abc-DEF_1 sh -s -- --hub https://hub.example.com --version 1.2.0 --sha256 ${'a'.repeat(64)}`,
    );
    expect(lines.sudo).toContain('| KEYFLEET_ENROLL_TOKEN=kfe_abc-DEF_1 sudo --preserve-env=KEYFLEET_ENROLL_TOKEN sh -s -- --hub');
    expect(lines.uninstall).toBe('curl -fsSL https://hub.example.com/v1/agent/install.sh | sh -s -- --uninstall');
  });

  it('quotes what the shell would otherwise interpret', () => {
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
    expect(shellQuote('https://h:7420')).toBe('https://h:7420');
  });
});
