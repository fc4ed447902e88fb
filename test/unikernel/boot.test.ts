// Unikernel.boot end to end: two guests (device model + driver + stack) on a VALE switch or a
// pipe, with the host sync loop inline or in worker threads, offloads on, off, or mismatched.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { fillPattern, httpGet, tcpSend, type ConnReport } from '../../src/apps/index.ts';
import { ValeSwitch, createPipe } from '../../src/host/index.ts';
import { Unikernel, UnikernelError, type BootOptions } from '../../src/unikernel/index.ts';
import { until } from '../support/until.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const booted: Unikernel[] = [];
afterEach(() => {
  for (const u of booted.splice(0)) u.shutdown();
});

async function boot(o: BootOptions): Promise<Unikernel> {
  const u = await Unikernel.boot(o);
  booted.push(u);
  return u;
}

async function exercise(a: Unikernel, b: Unikernel, bulk: number): Promise<void> {
  const reports: ConnReport[] = [];
  a.serve({ onClose: (r) => reports.push(r) });
  expect(await b.ping('10.0.0.1')).toBeGreaterThanOrEqual(0);
  const page = await httpGet(b.net, { host: '10.0.0.1' });
  expect(page.status).toBe(200);
  expect(page.bodyHead.toString()).toContain('ptnet-ts');
  const r = await httpGet(b.net, { host: '10.0.0.1', path: '/bytes/1000000' });
  expect(r.sha256).toBe(sha(fillPattern(new Uint8Array(1_000_000))));
  const d = await tcpSend(b.net, { host: '10.0.0.1', port: 9, bytes: bulk });
  const e = await tcpSend(b.net, { host: '10.0.0.1', port: 7, bytes: 200_000, readBack: true });
  expect(e.receivedSha256).toBe(e.sha256);
  // The server reports a connection when it has closed it, after the client's call returned.
  await until(() => reports.some((x) => x.service === 'discard'), 10_000, 'the discard report');
  expect(reports.find((x) => x.service === 'discard')).toMatchObject({ bytes: bulk, sha256: d.sha256 });
  const u = b.net.createSocket('udp4');
  const back = new Promise<string>((res) => u.on('message', (m: Buffer) => res(m.toString())));
  u.send('datagram', 7, '10.0.0.1');
  expect(await back).toBe('datagram');
  u.close();
  for (const k of [a, b]) {
    const s = k.stats();
    expect(s.drops).toBe(0);
    expect(s.txPackets).toBeGreaterThan(0);
    expect(s.rxPackets).toBeGreaterThan(0);
  }
}

describe('Unikernel.boot on a VALE switch', () => {
  it.each([
    ['inline', true, true],
    ['inline', false, false],
    ['inline', true, false],
  ] as const)('%s kloop, offloads %s/%s: ping, HTTP, discard, echo, UDP echo', async (mode, oa, ob) => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    const a = await boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', mode, offloads: oa });
    const b = await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', mode, offloads: ob });
    expect(a.offloads).toBe(oa);
    expect(b.offloads).toBe(ob);
    expect(a.netif.offloads.tso4).toBe(oa);
    await exercise(a, b, 4_000_000);
  });

  it('offloads off on a port that keeps its 12-byte header (like a TAP): software checksums and segments', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    const pa = vale.attach('a');
    // NETMAP_REQ_PORT_HDR_SET refuses anything but 12, as the TAP port does.
    const fixed = Object.create(pa, { setVnetHdrLen: { value: (n: number) => n === 12 } }) as typeof pa;
    const a = await boot({ port: fixed, ipv4: '10.0.0.1/24', offloads: false });
    const b = await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    expect(a.adapter.vnetHdrLen).toBe(12);
    expect(a.netif.offloads.tso4).toBe(true);
    expect(a.offloads).toBe(false);
    expect(a.stack.tso).toBe(false);
    await exercise(a, b, 2_000_000);
  });

  it('worker kloops (the architecture example): everything crosses threads', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    const a = await boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24' });
    const b = await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', mode: 'worker' });
    expect(b.kloops).toHaveLength(1);
    expect(b.kloops[0]!.mode).toBe('worker');
    await exercise(a, b, 2_000_000);
    expect(b.kloops[0]!.runs).toBeGreaterThan(0);
  }, 20_000);
});

describe('Unikernel.boot on a pipe', () => {
  it('serves across the two ends', async () => {
    const [e0, e1] = createPipe('pp', { slots: 256 });
    const a = await boot({ port: e0, ipv4: '10.0.0.1/24' });
    const b = await boot({ port: e1, ipv4: '10.0.0.2/24' });
    await exercise(a, b, 1_000_000);
  });
});

describe('boot options and shutdown', () => {
  it('refuses malformed addresses and unknown modes', async () => {
    const vale = new ValeSwitch('vale0');
    const port = vale.attach('a');
    for (const o of [
      { ipv4: '10.0.0.1' },
      { ipv4: '10.0.0.256/24' },
      { ipv4: '10.0.0.1/33' },
      { ipv4: '10.0.0.1/24', gateway: '10.0.0' },
      { ipv4: '10.0.0.1/24', mode: 'thread' as never },
    ]) {
      const e = await Unikernel.boot({ port, ...o }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnikernelError);
      expect((e as UnikernelError).code).toBe('BAD_OPTION');
    }
    for (const o of [
      { ipv6: 'fd00::1' },
      { ipv6: 'fd00::1/129' },
      { ipv6: '10.0.0.1/24' },
      { gateway6: 'fe80::1/64' },
    ]) {
      const e = await Unikernel.boot({ port, ipv4: '10.0.0.1/24', ...o }).catch((x: unknown) => x);
      expect((e as UnikernelError).code).toBe('BAD_OPTION');
    }
    // None of the refusals left a loop on the port: a real boot still succeeds.
    await boot({ port, ipv4: '10.0.0.1/24' });
  });

  it('after shutdown the guest is gone from the wire and the port can host another', async () => {
    const vale = new ValeSwitch('vale0');
    const pa = vale.attach('a');
    const a = await Unikernel.boot({ port: pa, ipv4: '10.0.0.1/24' });
    const b = await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    expect(await b.ping('10.0.0.1')).toBeGreaterThanOrEqual(0);
    a.shutdown();
    a.shutdown();
    await expect(b.ping('10.0.0.1', { timeout: 100 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await boot({ port: pa, ipv4: '10.0.0.1/24' });
    expect(await b.ping('10.0.0.1')).toBeGreaterThanOrEqual(0);
  });
});

describe('IPv6', () => {
  it('boots after DAD; ping6, HTTP, discard and UDP echo over IPv6', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    const [a, b] = await Promise.all([
      boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', ipv6: 'fd00::1/64' }),
      boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', ipv6: 'fd00::2/64', mode: 'worker' }),
    ]);
    const reports: ConnReport[] = [];
    a.serve({ onClose: (r) => reports.push(r) });
    expect(await b.ping('fd00::1')).toBeGreaterThanOrEqual(0);
    const r = await httpGet(b.net, { host: 'fd00::1', path: '/bytes/300000' });
    expect(r.sha256).toBe(sha(fillPattern(new Uint8Array(300_000))));
    const d = await tcpSend(b.net, { host: 'fd00::1', port: 9, bytes: 2_000_000 });
    await until(() => reports.some((x) => x.service === 'discard'), 10_000, 'the discard report');
    expect(reports.find((x) => x.service === 'discard')).toMatchObject({
      remoteAddress: 'fd00::2',
      bytes: 2_000_000,
      sha256: d.sha256,
    });
    const u = b.net.createSocket('udp6');
    const back = new Promise<string>((res) => u.on('message', (m: Buffer) => res(m.toString())));
    u.send('six', 7, 'fd00::1');
    expect(await back).toBe('six');
    u.close();
    // IPv4 still works beside it.
    expect(await b.ping('10.0.0.1')).toBeGreaterThanOrEqual(0);
  }, 20_000);

  it('a second guest with the same address fails DAD with IPV6_DUPLICATE', async () => {
    const vale = new ValeSwitch('vale0');
    await boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', ipv6: 'fd00::1/64' });
    const e = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', ipv6: 'fd00::1/64' }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(UnikernelError);
    expect((e as UnikernelError).code).toBe('IPV6_DUPLICATE');
  }, 20_000);
});
