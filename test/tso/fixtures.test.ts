// Root-free replay of the kernel-made fixtures: every super-frame of fixtures/pcap/<class>.pcapng
// goes through our segmenter, and the result must equal, byte for byte, what Linux put on the wire
// (<class>.kernel.pcap) with the same verdict (<class>.verdicts.txt), for the TAP write behaviour
// that MANIFEST.md records for the kernel that made them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROBING_TAP_KERNEL, UPSTREAM_TAP_KERNEL, type TapKernelBehaviour } from '../../src/vnethdr/index.ts';
import { compareCase } from '../oracle/lib/compare.ts';
import { readFrames, readSuper } from '../oracle/lib/fixtures.ts';
import type { CaseResult } from '../oracle/lib/session.ts';

const DIR = 'fixtures/pcap';
const classes = readdirSync(DIR)
  .filter((f) => f.endsWith('.verdicts.txt'))
  .map((f) => f.slice(0, -'.verdicts.txt'.length))
  .sort();

/** The `probeNoCsumGso=…` that MANIFEST.md states for the kernel-made fixtures. */
function fixtureKernel(): TapKernelBehaviour {
  const m = /TAP write behaviour[^`]*`probeNoCsumGso=(true|false)`/.exec(
    readFileSync(join(DIR, 'MANIFEST.md'), 'utf8'),
  );
  if (m === null) throw new Error('fixtures/pcap/MANIFEST.md does not state the TAP write behaviour');
  return m[1] === 'true' ? PROBING_TAP_KERNEL : UPSTREAM_TAP_KERNEL;
}

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

  it('the invalid class tells the TAP behaviours apart: it refutes the one MANIFEST.md does not state', () => {
    const other = fixtureKernel() === UPSTREAM_TAP_KERNEL ? PROBING_TAP_KERNEL : UPSTREAM_TAP_KERNEL;
    const cases = readSuper(join(DIR, 'invalid.pcapng'));
    const results = kernelResults('invalid');
    const refuted = cases.filter((c, i) => compareCase(c, results[i]!, other) !== null);
    expect(refuted.length).toBeGreaterThan(0);
  });

  it.each(classes)('%s: our segments equal the kernel output', (name) => {
    const cases = readSuper(join(DIR, `${name}.pcapng`));
    const results = kernelResults(name);
    expect(results.length).toBe(cases.length);
    const diffs = cases.map((c, i) => compareCase(c, results[i]!, fixtureKernel())).filter((d) => d !== null);
    expect(diffs).toEqual([]);
  });
});
