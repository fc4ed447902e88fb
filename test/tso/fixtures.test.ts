// Root-free replay of the kernel-made fixtures: every super-frame of fixtures/pcap/<class>.pcapng
// goes through our segmenter, and the result must equal, byte for byte, what Linux put on the wire
// (<class>.kernel.pcap) with the same verdict (<class>.verdicts.txt).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareCase } from '../oracle/lib/compare.ts';
import { readFrames, readSuper } from '../oracle/lib/fixtures.ts';
import type { CaseResult } from '../oracle/lib/session.ts';

const DIR = 'fixtures/pcap';
const classes = readdirSync(DIR)
  .filter((f) => f.endsWith('.verdicts.txt'))
  .map((f) => f.slice(0, -'.verdicts.txt'.length))
  .sort();

/** Splits the kernel's frames among the super-frames by the recorded verdicts. */
function kernelResults(name: string): CaseResult[] {
  const frames = readFrames(join(DIR, `${name}.kernel.pcap`));
  const lines = readFileSync(join(DIR, `${name}.verdicts.txt`), 'utf8')
    .trim()
    .split('\n');
  let next = 0;
  const out = lines.map((l): CaseResult => {
    if (l === 'EINVAL') return { errno: 22, frames: [] };
    if (l === 'dropped') return { errno: 0, frames: [] };
    const n = Number(/^ok (\d+)$/.exec(l)?.[1] ?? NaN);
    if (!Number.isInteger(n)) throw new Error(`${name}: bad verdict line '${l}'`);
    next += n;
    return { errno: 0, frames: frames.slice(next - n, next) };
  });
  if (next !== frames.length) throw new Error(`${name}: verdicts cover ${next} of ${frames.length} frames`);
  return out;
}

describe('kernel-made fixtures', () => {
  it('covers the classes of the issue, including tcpv4-tso', () => {
    for (const c of [
      'tcpv4-tso',
      'tcpv6-tso',
      'udp-uso',
      'tcpv4-gso',
      'tcpv6-gso',
      'vlan-gso',
      'uso',
      'ufo-v4',
      'ufo-v6',
      'csum-only',
      'invalid',
    ]) {
      expect(classes).toContain(c);
    }
  });

  it.each(classes)('%s: our segments equal the kernel output', (name) => {
    const cases = readSuper(join(DIR, `${name}.pcapng`));
    const results = kernelResults(name);
    expect(results.length).toBe(cases.length);
    const diffs = cases.map((c, i) => compareCase(c, results[i]!)).filter((d) => d !== null);
    expect(diffs).toEqual([]);
  });
});
