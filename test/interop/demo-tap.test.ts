// `ptnet-ts demo --tap NAME` (root): one unikernel on the TAP, the Linux kernel as its peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipPrivileged } from '../support/privileged.ts';
import {
  BIN,
  KERNEL_ADDR,
  NS_PREFIX,
  TAP,
  createNamespace,
  destroyNamespace,
  nsRun,
  removeLeftovers,
} from './lib.ts';

const skip = skipPrivileged('interop (demo --tap)', ['ip', 'ping', 'curl']);

describe.skipIf(skip)('ptnet-ts demo --tap', () => {
  const ns = `${NS_PREFIX}demo-${process.pid}`;
  beforeAll(() => {
    removeLeftovers();
    createNamespace(ns);
  });
  afterAll(() => destroyNamespace(ns));

  it.each([[[]], [['--mode', 'inline', '--no-offloads']]])(
    'ping, HTTP and bulk against the kernel pass %j',
    async (flags: string[]) => {
      const r = await nsRun(ns, process.execPath, [
        BIN,
        'demo',
        '--tap',
        TAP,
        '--seconds',
        '1',
        '--json',
        ...flags,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as {
        ok: boolean;
        where: string;
        tests: { test: string; ok: boolean; drops: number }[];
      };
      expect(j.ok).toBe(true);
      expect(j.where).toContain(`peer: the Linux kernel at ${KERNEL_ADDR}`);
      expect(j.tests.map((t) => [t.test, t.ok, t.drops])).toEqual([
        ['ping', true, 0],
        ['http', true, 0],
        ['tcp bulk', true, 0],
      ]);
    },
    60_000,
  );
});
