// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
/** A minimal text/event-stream parser for test assertions (comments skipped). */
export function parseSse(text: string): { event?: string; id?: string; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const e: { event?: string; id?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        const [key, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (key === 'event') e.event = value;
        else if (key === 'id') e.id = value;
        else if (key === 'data') e.data += value;
      }
      return e;
    });
}
