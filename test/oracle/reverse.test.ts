// Oracle direction B: real Linux GSO frames (kernel TCPv4/TCPv6 senders, a UDP_SEGMENT sender) read
// from a TAP with offloads on. Each must be segmented by us exactly as the kernel segments it when
// written back (direction A), and GRO over those segments must rebuild Linux's own super-frames.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroEngine, GroOutput, type GsoHeader } from '../../src/tso/index.ts';
import { UPSTREAM_TAP_KERNEL } from '../../src/vnethdr/index.ts';
import { skipPrivileged } from '../support/privileged.ts';
import { compareCase } from './lib/compare.ts';
import { linuxClasses } from './lib/fixtures.ts';
import { tapRecord, type GenCase } from './lib/gen.ts';
import { recordLinuxGso } from './lib/reverse.ts';
import { OracleSession, type CaseResult } from './lib/session.ts';

describe.skipIf(
  skipPrivileged('test/oracle/reverse', ['ip', 'tc', 'tcpdump', 'ethtool', 'taskset', 'python3']),
)('real Linux GSO frames', () => {
  const session = new OracleSession();
  let cases: GenCase[] = [];
  let results: CaseResult[] = [];

  beforeAll(async () => {
    const recs = await recordLinuxGso({
      tcp4Bytes: 300_000,
      tcp6Bytes: 200_000,
      uso: [
        [3000, 1000],
        [60_000, 1400],
      ],
    });
    cases = linuxClasses(recs).flatMap((c) => c.cases);
    session.start();
    results = await session.run(cases.map((c) => tapRecord(c.hdr, c.frame)));
  });

  afterAll(() => session.stop());

  it('include TSO super-frames of both IP versions and USO, as docs/SPEC.md §9 describes', () => {
    const types = new Set(cases.map((c) => c.hdr.gsoType & 0x7f));
    expect([...types].sort()).toEqual(expect.arrayContaining([0, 1, 4, 5]));
    for (const c of cases.filter((x) => x.hdr.gsoType !== 0)) {
      expect(c.hdr.flags).toBe(1);
      expect(c.frame.length - c.hdr.hdrLen).toBeGreaterThan(c.hdr.gsoSize);
    }
  });

  it('are segmented by us exactly as by the kernel', () => {
    // Linux hands its own super-frames out with NEEDS_CSUM (asserted above): every TAP behaviour agrees.
    const diffs = cases
      .map((c, i) => compareCase(c, results[i]!, UPSTREAM_TAP_KERNEL))
      .filter((d) => d !== null);
    expect(diffs).toEqual([]);
  });

  it("GRO over the kernel's TCP segments rebuilds Linux's super-frames and headers", () => {
    const gro = new GroEngine();
    const out = new GroOutput();
    out.clear();
    cases.forEach((c, i) => {
      if (c.hdr.gsoType === 1 || c.hdr.gsoType === 4) {
        for (const f of results[i]!.frames) gro.receive(f, out);
        gro.flush(out);
      }
    });
    const h: GsoHeader = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
    const built = new Map<string, string>();
    for (let i = 0; i < out.count; i++)
      built.set(Buffer.from(out.frame(i)).toString('hex'), JSON.stringify(out.header(i, h)));
    for (const c of cases.filter((x) => x.hdr.gsoType === 1 || x.hdr.gsoType === 4)) {
      expect(built.get(Buffer.from(c.frame).toString('hex'))).toBe(JSON.stringify(c.hdr));
    }
  });
});
