// node:net and node:dgram fidelity, by difference: every scenario of scenarios.ts runs (a) against
// node itself over the kernel loopback (127.0.0.1, ::1; no root needed) and (b) against ptnet-ts,
// two inline unikernels on a VALE switch (the client on one, the server on the other; loopback on
// the server's own stack). The ordered per-actor event traces must be equal. Where they cannot be,
// EXCEPT names the scenario and the reason, and the test checks the difference is exactly the
// one stated (so a fix shows up as a failure to remove the exception).
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Unikernel, ValeSwitch } from '../../src/index.ts';
import { SCENARIOS, makeCtx, type Env, type Trace } from './scenarios.ts';

/**
 * Scenarios whose traces differ for a stated reason: `patch` turns node's trace into the one
 * ptnet-ts must give (so everything else still has to be equal).
 */
const EXCEPT: Record<string, { reason: string; patch: (node: Trace) => Trace }> = {
  'listen on one address, connect to another': {
    reason:
      'a listener is keyed by port only (Tcp.listen in src/stack/tcp/tcp.ts takes no address), so a ' +
      'server bound to one address also accepts on the stack’s others where Linux refuses',
    patch: () => ({ client: ['connect', ['close', false]] }),
  },
};

const nodeEnv: Env = {
  name: 'node',
  server: { createServer: net.createServer, createSocket: (t: 'udp4' | 'udp6') => dgram.createSocket(t) },
  client: { connect: net.connect, createSocket: (t: 'udp4' | 'udp6') => dgram.createSocket(t) },
  self: { connect: net.connect },
  host4: '127.0.0.1',
  host6: '::1',
  otherOwn: '127.0.0.2',
  blackhole: onLinkBlackhole() ?? '',
  names: { '127.0.0.1': 'H4', '::1': 'H6', '::ffff:127.0.0.1': 'H4', '127.0.0.2': 'OTHER' },
};

/**
 * An address on the machine's first non-loopback IPv4 subnet that nobody uses (host part 253 of
 * the subnet, or the last one of a small one): a connect there stays pending on ARP, as 10.0.0.99
 * does on the VALE switch. None on a machine with no such interface.
 */
function onLinkBlackhole(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family !== 'IPv4' || i.internal || i.netmask === '255.255.255.255') continue;
      const n = (s: string): number => s.split('.').reduce((x, o) => ((x << 8) | Number(o)) >>> 0, 0);
      const mask = n(i.netmask);
      const host = ~mask >>> 0 > 254 ? 253 : (~mask >>> 0) - 1;
      const a = ((n(i.address) & mask) | host) >>> 0;
      if (a === n(i.address)) continue;
      return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
    }
  }
  return null;
}

const localhost = await dns.promises.lookup('localhost');

/** Scenarios that cannot run against node on this machine, and why. */
const SKIP: Record<string, string> = nodeEnvSkips();
function nodeEnvSkips(): Record<string, string> {
  const skip: Record<string, string> = {};
  if (onLinkBlackhole() === null)
    skip['connect timeout'] =
      'the machine has no non-loopback IPv4 subnet for node to connect into unanswered';
  if (localhost.address !== '127.0.0.1')
    skip['connect to localhost (default host)'] =
      `node resolves localhost to ${localhost.address} here; the stack's localhost is 127.0.0.1`;
  return skip;
}

let vale: ValeSwitch;
let a: Unikernel;
let b: Unikernel;
let ptEnv: Env;

beforeAll(async () => {
  vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  [a, b] = await Promise.all([
    Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', ipv6: '2001:db8::1/64' }),
    Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', ipv6: '2001:db8::2/64' }),
  ]);
  ptEnv = {
    name: 'ptnet',
    server: a.net,
    client: b.net,
    self: a.net,
    host4: '10.0.0.1',
    host6: '2001:db8::1',
    otherOwn: '127.0.0.1',
    blackhole: '10.0.0.99',
    // The kernel run has one host: the client guest's address stands for it as well.
    names: {
      '10.0.0.1': 'H4',
      '10.0.0.2': 'H4',
      '2001:db8::1': 'H6',
      '2001:db8::2': 'H6',
      '127.0.0.1': 'OTHER',
    },
  };
}, 20_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await vale?.close();
});

describe('node:net / node:dgram differential', () => {
  for (const [name, script] of Object.entries(SCENARIOS)) {
    if (SKIP[name] !== undefined) {
      it.skip(`${name}: ${SKIP[name]}`, () => {});
      continue;
    }
    it(`${name}: the same trace as node${EXCEPT[name] ? ` (except: ${EXCEPT[name].reason})` : ''}`, async () => {
      const n = makeCtx(nodeEnv);
      await script(n);
      const p = makeCtx(ptEnv);
      await script(p);
      const want = EXCEPT[name]?.patch(structuredClone(n.trace)) ?? n.trace;
      expect(p.trace).toEqual(want);
      if (EXCEPT[name]) expect(n.trace).not.toEqual(p.trace);
    }, 30_000);
  }
});
