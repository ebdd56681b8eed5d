import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isTaskDefinition } from '../define-task.js';
import { taskDefinitionList, taskDefinitions } from './index.js';

const dir = dirname(fileURLToPath(import.meta.url));

describe('task registry', () => {
  it('registers every task declared in this folder, once, under its own name', async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts');
    const declared: string[] = [];
    for (const file of files) {
      const mod = (await import(`./${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
      for (const value of Object.values(mod)) if (isTaskDefinition(value)) declared.push(value.name);
    }
    expect(declared.length).toBeGreaterThan(0);
    expect(taskDefinitionList.map((d) => d.name).toSorted()).toEqual(declared.toSorted());
    expect(new Set(declared).size).toBe(declared.length);
    for (const [name, def] of Object.entries(taskDefinitions)) expect(def.name).toBe(name);
  });

  it('names are stable dotted identifiers', () => {
    for (const { name } of taskDefinitionList) expect(name).toMatch(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)*$/);
  });
});
