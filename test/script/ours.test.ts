// Every script in test/script/scripts/ against our stack over the in-memory pair (no root needed).
// The same scripts run against the Linux kernel in linux.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScript } from './format.ts';
import { OurStack } from './ours.ts';
import { runScript } from './runner.ts';

const DIR = 'test/script/scripts';
const scripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.pkt'))
  .sort();

describe('scripted segments against our stack', () => {
  it.each(scripts)('%s', async (name) => {
    const b = new OurStack();
    const r = await runScript(parseScript(readFileSync(join(DIR, name), 'utf8')), b);
    await b.close();
    expect(r.ok, r.trace.join('\n')).toBe(true);
  });
});
