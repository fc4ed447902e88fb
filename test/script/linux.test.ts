// Every script in test/script/scripts/ against the Linux kernel's TCP (root): the expected replies
// in the scripts are Linux's, so our stack (ours.test.ts) is held to what Linux does.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipPrivileged } from '../support/privileged.ts';
import { parseScript } from './format.ts';
import { LinuxKernel } from './linux.ts';
import { runScript } from './runner.ts';

const DIR = 'test/script/scripts';
// A script whose first line says "# ours-only: why" tests what Linux does not implement.
const scripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.pkt') && !/^# ours-only:/.test(readFileSync(join(DIR, f), 'utf8')))
  .sort();

describe.skipIf(skipPrivileged('scripted segments against Linux', ['ip']))(
  'scripted segments against the Linux kernel',
  () => {
    it.each(scripts)('%s', async (name) => {
      const b = new LinuxKernel(`ptnet-pkt-${process.pid}`);
      try {
        const r = await runScript(parseScript(readFileSync(join(DIR, name), 'utf8')), b);
        expect(r.ok, r.trace.join('\n')).toBe(true);
      } finally {
        await b.close();
      }
    });
  },
);
