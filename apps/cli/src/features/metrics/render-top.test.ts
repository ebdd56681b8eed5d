import { describe, expect, it } from 'vitest';
import { renderTop } from './render-top.js';

describe('renderTop', () => {
  it('aligns figures right, shows - for what is unknown, days or hours for backup age', () => {
    const lines = renderTop([
      {
        hostId: 'h_1',
        hostname: 'kc-1',
        status: 'online',
        cpuPercent: 7.4,
        memoryPercent: 51,
        diskPercent: 88.6,
        loginsPerMin: 120,
        failuresPerMin: 3,
        p95Ms: 41.2,
        certDaysLeft: 29.9,
        backupAgeHours: 5.25,
      },
      { hostId: 'h_2', hostname: 'kc-long-name', status: 'offline', backupAgeHours: 100 },
    ]);
    expect(lines).toEqual([
      'HOST          STATUS   CPU  MEM  DISK  LOGINS/MIN  FAILS/MIN   P95  CERT  BACKUP AGE',
      'kc-1          online    7%  51%   89%       120.0        3.0  41ms   29d        5.3h',
      'kc-long-name  offline    -    -     -           -          -     -     -          4d',
    ]);
    expect(renderTop([])).toEqual(['HOST  STATUS  CPU  MEM  DISK  LOGINS/MIN  FAILS/MIN  P95  CERT  BACKUP AGE', '(no hosts)']);
  });
});
