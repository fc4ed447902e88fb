import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinuxTap, TapError } from '../../src/host/tap/index.ts';
import { destroyNamespace, freshNamespace, nsTsx } from '../support/netns.ts';
import { skipPrivileged } from '../support/privileged.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TapError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('LinuxTap argument checks', () => {
  it('refuses names that cannot be interface names', () => {
    expect(codeOf(() => LinuxTap.open(''))).toBe('BAD_NAME');
    expect(codeOf(() => LinuxTap.open('a-name-too-long-16'))).toBe('BAD_NAME');
    expect(codeOf(() => LinuxTap.open('../eth0'))).toBe('BAD_NAME');
    expect(codeOf(() => LinuxTap.open('tap 0'))).toBe('BAD_NAME');
  });

  it('reports a missing interface instead of creating one', () => {
    expect(codeOf(() => LinuxTap.open('ptnxnotthere0'))).toBe('NO_SUCH_INTERFACE');
  });
});

const NS = `ptnet-tap-${process.pid}`;
const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });

describe.skipIf(skipPrivileged('TAP device tests'))('LinuxTap in a network namespace', () => {
  beforeAll(() => {
    freshNamespace(NS, ['ptt0']); // a leftover of a killed run, if any, goes first
    sh('ip', '-n', NS, 'link', 'add', 'ptv0', 'type', 'veth', 'peer', 'name', 'ptv1');
    sh('ip', '-n', NS, 'addr', 'add', '10.77.0.1/24', 'dev', 'ptt0');
    sh('ip', '-n', NS, 'link', 'set', 'ptt0', 'up');
  });

  afterAll(() => destroyNamespace(NS, ['ptt0']));

  function probe(dev: string): Record<string, unknown> {
    const out = nsTsx(NS, 'test/host/tap-probe.ts', dev, '02:00:00:00:00:02', '10.77.0.2', '10.77.0.1');
    return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  }

  it('moves vnet-header frames both ways and surfaces the kernel EINVAL as a typed error', () => {
    const r = probe('ptt0');
    expect(r.vnetHdrLen).toBe(12);
    expect(r.badHeader).toBe('WRITE_REJECTED');
    expect(r.reply).toEqual({
      opcode: 2,
      senderIp: '10.77.0.1',
      targetMac: '02:00:00:00:00:02',
      dstMac: '02:00:00:00:00:02',
    });
    expect(r.readAfterDrain).toBe(-1);
    expect(r.afterClose).toBe('CLOSED');
  });

  it('refuses to attach to an interface that is not a tap', () => {
    const out = nsTsx(
      NS,
      '-e',
      "import('./src/host/tap/index.ts').then(({LinuxTap})=>{try{LinuxTap.open('ptv0')}catch(e){console.log(e.code)}})",
    );
    expect(out.trim()).toBe('NOT_A_TAP');
  });
});
