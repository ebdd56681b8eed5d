import { describe, expect, it } from 'vitest';
import { withBootBlock } from './nft-firewall-rule.js';

const DEBIAN_DEFAULT = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter;
\t}
}
`;
const TABLE = 'table inet keyfleet {\n  chain input {\n  }\n}\n';

describe('the firewall saved for boot (/etc/nftables.conf)', () => {
  it('adds Keyfleet’s block after the operator’s content (after any flush ruleset), moves it last when replacing it, and removes only it', () => {
    const saved = withBootBlock(DEBIAN_DEFAULT, TABLE)!;
    expect(saved.startsWith(DEBIAN_DEFAULT)).toBe(true);
    expect(saved.slice(DEBIAN_DEFAULT.length)).toBe(
      `# BEGIN keyfleet net.firewall (managed by keyfleet-agent; changes here are overwritten)\nadd table inet keyfleet\ndelete table inet keyfleet\n${TABLE}# END keyfleet net.firewall\n`,
    );
    const replaced = withBootBlock(`${saved}# the operator's line after it\n`, TABLE.replace('input', 'output'))!;
    expect(replaced).toContain('chain output');
    expect(replaced).not.toContain('chain input {\n  }');
    expect(replaced.match(/# BEGIN keyfleet/g)).toHaveLength(1);
    expect(replaced).toContain("# the operator's line after it\n");
    expect(withBootBlock(saved, null)).toBe(DEBIAN_DEFAULT);
  });

  it('creates the file with nft’s interpreter line when there was none, and leaves an absent file absent on removal', () => {
    expect(withBootBlock(null, TABLE)).toMatch(/^#!\/usr\/sbin\/nft -f\n# BEGIN keyfleet/);
    expect(withBootBlock(null, null)).toBeNull();
  });
});
