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

// The stack holds sequence numbers as signed int32 (src/stack/tcp/seq.ts). Each script runs with
// our ISS just below 2^31, where its numbers turn negative within the first segment, and just
// below 2^32, where they wrap to 0: a number used as a "none" flag, or two forms of one number
// compared with ===, fails one of them.
const ISS = [0x7fffff00, 0xffffff00];

describe('scripted segments against our stack', () => {
  it.each(scripts.flatMap((name) => ISS.map((iss) => [name, iss] as const)))(
    '%s, ISS %i',
    async (name, iss) => {
      const b = new OurStack(iss);
      const r = await runScript(parseScript(readFileSync(join(DIR, name), 'utf8')), b);
      await b.close();
      expect(r.ok, r.trace.join('\n')).toBe(true);
    },
  );
});
