import { describe, expect, it } from 'vitest';
import { DockerLogMirror } from './docker-log-mirror.js';

describe('DockerLogMirror.newLines', () => {
  const text = [
    '2026-12-01T18:00:00.5Z first',
    '2026-12-01T18:00:00.123456789Z second in the same second, earlier by its nanoseconds',
    '2026-12-01T18:00:01Z third',
    'a line without a timestamp',
    '',
  ].join('\n');

  it('keeps lines in time order with the last one as the cursor, docker trimming trailing zeros or not', () => {
    const first = DockerLogMirror.newLines('2026-12-01T18:00:00.1Z a\n2026-12-01T18:00:00.500000000Z b\n2026-12-01T18:00:01Z c\r\n', undefined);
    expect(first).toEqual({ lines: ['a', 'b', 'c'], last: '2026-12-01T18:00:01.000000000' });
  });

  it('copies nothing twice: a pull from the same second skips what the cursor passed', () => {
    expect(DockerLogMirror.newLines(text, '2026-12-01T18:00:00.500000000')).toEqual({ lines: ['third'], last: '2026-12-01T18:00:01.000000000' });
    expect(DockerLogMirror.newLines(text, '2026-12-01T18:00:01.000000000')).toEqual({ lines: [], last: undefined });
  });
});
