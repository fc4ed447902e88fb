// The Linux kernel as the judge of src/tso: seeded super-frames of every class are written to a
// vnet_hdr TAP whose traffic tc redirects to an offload-less veth; what tcpdump records on the peer
// (or the EINVAL from write(), or nothing for a silent drop) must equal our output byte for byte.
// Replay a failure with PTNET_ORACLE_SEED=<seed printed below>. The kernel's TAP write behaviour
// is probed first (test/support/tap-kernel.ts) and our model must agree with that behaviour exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapKernelBehaviour } from '../../src/vnethdr/index.ts';
import { skipPrivileged } from '../support/privileged.ts';
import { probeTapKernel, tapKernelReport } from '../support/tap-kernel.ts';
import { generate, tapRecord } from './lib/gen.ts';
import { compareCase, compareTapVerdict } from './lib/compare.ts';
import { OracleSession, type CaseResult } from './lib/session.ts';

const SEED = Number(process.env.PTNET_ORACLE_SEED ?? Date.now() % 1_000_000);
const CASES = Number(process.env.PTNET_ORACLE_CASES ?? 600);

describe.skipIf(skipPrivileged('test/oracle/gso', ['ip', 'tc', 'tcpdump', 'ethtool', 'taskset']))(
  'software GSO against the running kernel',
  () => {
    const session = new OracleSession();
    const cases = generate(SEED, CASES);
    let results: CaseResult[] = [];
    let kernel: TapKernelBehaviour | undefined;

    beforeAll(async () => {
      const probe = probeTapKernel();
      kernel = probe.behaviour;
      console.log(tapKernelReport(probe));
      console.log(`oracle seed ${SEED} (PTNET_ORACLE_SEED), ${CASES} cases`);
      session.start();
      results = await session.run(cases.map((c) => tapRecord(c.hdr, c.frame)));
    });

    afterAll(() => session.stop());

    it('matches every case byte for byte (segments, EINVAL, silent drops)', () => {
      const diffs: string[] = [];
      cases.forEach((c, i) => {
        const d = compareCase(c, results[i]!, kernel!);
        if (d !== null) diffs.push(`#${i} ${c.name} ${JSON.stringify(c.hdr)}: ${d}`);
      });
      expect(diffs, `seed ${SEED}`).toEqual([]);
    });

    it("src/vnethdr's validateTapWrite predicts every write() verdict", () => {
      const diffs: string[] = [];
      cases.forEach((c, i) => {
        const d = compareTapVerdict(c, results[i]!, kernel!);
        if (d !== null) diffs.push(`#${i} ${c.name} ${JSON.stringify(c.hdr)}: ${d}`);
      });
      expect(diffs, `seed ${SEED}`).toEqual([]);
    });

    it('exercised every outcome: segmented, checksum-only, EINVAL and dropped', () => {
      const segmented = results.filter((r) => r.frames.length > 1).length;
      const single = results.filter((r) => r.frames.length === 1).length;
      const einval = results.filter((r) => r.errno === 22).length;
      const dropped = results.filter((r) => r.errno === 0 && r.frames.length === 0).length;
      expect(segmented).toBeGreaterThan(CASES / 3);
      expect(single).toBeGreaterThan(0);
      expect(einval).toBeGreaterThan(0);
      expect(dropped).toBeGreaterThan(0);
    });
  },
);
