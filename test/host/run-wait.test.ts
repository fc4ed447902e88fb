// run-wait.ts: a poll loop's gap is a preemption only if the thread waited on a run queue, read
// from its schedstat.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openRunWait, parseRunDelay, threadRunWait } from '../../src/host/run-wait.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('parseRunDelay', () => {
  it('reads the second field of "<on-cpu ns> <run-queue wait ns> <timeslices>\\n"', () => {
    const b = bytes('4417203456 87654321 1932\n');
    expect(parseRunDelay(b, b.length)).toBe(87654321);
    const z = bytes('0 0 1\n');
    expect(parseRunDelay(z, z.length)).toBe(0);
  });

  it('refuses what is not that: -1', () => {
    for (const s of [
      '',
      '12',
      '12 ',
      '12 34',
      ' 12 34 5\n',
      '12  34 5\n',
      'a 34 5\n',
      '12 3x4 5\n',
      '12 99999999999999999999 5\n',
    ])
      expect(parseRunDelay(bytes(s), bytes(s).length)).toBe(-1);
    // Only the first n bytes count.
    const b = bytes('12 34 5\n');
    expect(parseRunDelay(b, 4)).toBe(-1);
  });

  it('property: any three safe integers round-trip; any bytes give -1 or a safe integer, never a throw', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), (a, b, c) => {
        const s = bytes(`${a} ${b} ${c}\n`);
        expect(parseRunDelay(s, s.length)).toBe(b);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (u) => {
        const v = parseRunDelay(u, u.length);
        expect(v === -1 || Number.isSafeInteger(v)).toBe(true);
      }),
    );
  });
});

describe('openRunWait', () => {
  it('answers whether the wait grew since the last question, and true when it cannot tell', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptnet-runwait-'));
    try {
      const f = join(dir, 'schedstat');
      writeFileSync(f, '100 5000 7\n');
      const waited = openRunWait(f);
      expect(waited()).toBe(false); // unchanged since it was opened
      writeFileSync(f, '180 5000 8\n'); // ran, did not wait: an interrupt's gap
      expect(waited()).toBe(false);
      writeFileSync(f, '190 9000 9\n'); // waited on a run queue: preempted
      expect(waited()).toBe(true);
      expect(waited()).toBe(false);
      writeFileSync(f, 'garbage\n');
      expect(waited()).toBe(true); // unreadable now: every gap a preemption, as without the check
      expect(openRunWait(join(dir, 'missing'))()).toBe(true);
      writeFileSync(f, 'not schedstat\n');
      expect(openRunWait(f)()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(process.platform !== 'linux')('reads this thread’s own schedstat on Linux', () => {
    const text = bytes(readFileSync('/proc/thread-self/schedstat', 'utf8'));
    expect(parseRunDelay(text, text.length)).toBeGreaterThanOrEqual(0);
    const waited = threadRunWait();
    expect(threadRunWait()).toBe(waited); // one per thread
    // The wait only grows: a later read is never below an earlier one.
    const again = bytes(readFileSync('/proc/thread-self/schedstat', 'utf8'));
    expect(parseRunDelay(again, again.length)).toBeGreaterThanOrEqual(parseRunDelay(text, text.length));
  });
});
