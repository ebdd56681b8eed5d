import { describe, expect, it } from 'vitest';
import { recipientFromText } from './backup-keys-command.js';

describe('recipientFromText', () => {
  const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

  it('takes the public key from age-keygen output and never the identity', () => {
    const file = `# created: 2026-12-01T10:00:00Z\n# public key: ${recipient}\nAGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n`;
    expect(recipientFromText(file)).toBe(recipient);
  });

  it('takes a bare recipients line, and nothing from a file without one', () => {
    expect(recipientFromText(`${recipient}\n`)).toBe(recipient);
    expect(recipientFromText('AGE-SECRET-KEY-1ABC\n')).toBeUndefined();
  });
});
