// Issue 15, backend switch: a running unikernel's NIC moves between host ports and between inline
// and worker sync loops while a TCP transfer runs; the stack's NetIf (the shell) never changes,
// nothing is reset, every byte arrives, and the move is announced (gratuitous ARP, unsolicited
// NA) so the switch and the peers relearn where the unikernel is.
import { describe, expect, it, vi } from 'vitest';
import { tcpSend, type ConnReport } from '../../src/apps/index.ts';
import { ValeSwitch, createPipe, type ValePort } from '../../src/host/index.ts';
import { Mempool } from '../../src/mbuf/index.ts';
import { NO_OFFLOADS, type NetIf, type NetIfEvents } from '../../src/netif/index.ts';
import { Stack, VirtualClock } from '../../src/stack/index.ts';
import { NetIfShell, UnikernelError } from '../../src/unikernel/index.ts';
import { until } from '../support/until.ts';
import { trackBoots } from '../support/booted.ts';

const { boot } = trackBoots();

/** A's MAC as the VALE forwarding table keys it: where does the switch send frames for A? */
function fdbPortOf(vale: ValeSwitch, mac: Uint8Array): number {
  const frame = new Uint8Array(14);
  frame.set(mac, 0);
  return (vale as unknown as { sw: { fdb: { lookup(b: Uint8Array, o: number): number } } }).sw.fdb.lookup(
    frame,
    0,
  );
}

describe('Unikernel.switchBackend', () => {
  it('moves between VALE ports and inline ⇄ worker loops during a transfer: intact, no reset, relearnt', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    const a = await boot({ port: vale.attach('a0'), ipv4: '10.0.0.1/24', ipv6: 'fd00::1/64' });
    const b = await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', ipv6: 'fd00::2/64' });
    const reports: ConnReport[] = [];
    a.serve({ onClose: (r) => reports.push(r) });
    const mac = Uint8Array.from(a.stack.netif.mac);
    const shellBefore = a.stack.netif;
    const bytes = 16_000_000;
    let sent = 0;
    const tx = tcpSend(b.net, { host: '10.0.0.1', port: 9, bytes, onProgress: (s) => (sent = s) });
    const plan: [string, 'inline' | 'worker'][] = [
      ['a1', 'worker'],
      ['a2', 'inline'],
      ['a3', 'worker'],
      ['a4', 'inline'],
    ];
    const naBefore = a.stack.ip6!.ndpCounters.naOut;
    const arpBefore = a.stack.counters.arpRequestsOut;
    for (let i = 0; i < plan.length; i++) {
      await until(() => sent >= ((i + 1) * bytes) / (plan.length + 1));
      const old = a.port as ValePort;
      const [name, mode] = plan[i]!;
      const r = await a.switchBackend(vale.attach(name), { mode });
      vale.detach(old);
      expect(a.mode).toBe(mode);
      expect(r.txDrained).toBe(true);
      expect(Number.isFinite(r.outageMs) && r.outageMs > 0).toBe(true);
      // The switch learns A's MAC on the new port from the gratuitous ARP (a worker loop sends it
      // from its own thread, a moment later).
      const idx = (a.port as ValePort).index;
      await until(() => fdbPortOf(vale, mac) === idx, 5000);
    }
    const d = await tx;
    await until(() => reports.some((x) => x.service === 'discard'));
    const rep = reports.find((x) => x.service === 'discard')!;
    expect(rep.bytes).toBe(bytes);
    expect(rep.sha256).toBe(d.sha256);
    // The stack kept its NetIf and its MAC; nothing was reset on either side.
    expect(a.stack.netif).toBe(shellBefore);
    expect(Array.from(a.stack.netif.mac)).toEqual(Array.from(mac));
    for (const u of [a, b]) {
      expect(u.stack.tcp.counters.outRsts).toBe(0);
      expect(u.stack.counters.rxExceptions).toBe(0);
    }
    // One gratuitous ARP and one NA per IPv6 address (link-local and fd00::1) per move.
    expect(a.stack.counters.arpRequestsOut - arpBefore).toBeGreaterThanOrEqual(plan.length);
    expect(a.stack.ip6!.ndpCounters.naOut - naBefore).toBe(2 * plan.length);
    // And the peers still reach A on both families at its new place.
    expect(await b.ping('10.0.0.1')).toBeGreaterThanOrEqual(0);
    expect(await b.ping('fd00::1')).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('refuses a NIC without the offloads the stack was built with, and a switch after shutdown', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    const a = await boot({ port: vale.attach('a0'), ipv4: '10.0.0.1/24' });
    await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    // A pipe end with no virtio-net header: no checksum offload, no TSO.
    const [p0] = createPipe('p');
    const fixed = Object.create(p0, { setVnetHdrLen: { value: (n: number) => n === 0 } }) as typeof p0;
    await expect(a.switchBackend(fixed)).rejects.toThrow(UnikernelError);
    // A refused switch leaves the old NIC carrying traffic (checked before anything stops).
    expect(await a.ping('10.0.0.2')).toBeGreaterThanOrEqual(0);
    // A second switch while one runs, or a mode that does not exist, is refused as well.
    const first = a.switchBackend(vale.attach('a1'));
    await expect(a.switchBackend(vale.attach('a2'))).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await first;
    await expect(a.switchBackend(vale.attach('a3'), { mode: 'threads' as never })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
    expect(await a.ping('10.0.0.2')).toBeGreaterThanOrEqual(0);
    a.shutdown();
    await expect(a.switchBackend(vale.attach('a4'))).rejects.toMatchObject({ code: 'SHUT_DOWN' });
  });
});

describe('NetIfShell', () => {
  function fakeNic(offloads = NO_OFFLOADS): NetIf & { sent: number; ev: NetIfEvents | null } {
    return {
      name: 'fake',
      mac: Uint8Array.of(2, 0, 0, 0, 0, 1),
      mtu: 1500,
      offloads,
      sent: 0,
      ev: null,
      transmit() {
        this.sent++;
        return 'ok';
      },
      flush() {},
      poll: () => 0,
      setEvents(e) {
        this.ev = e;
      },
    };
  }

  it('is busy between plugins, and plugging restarts TX and RX on the new one', () => {
    const first = fakeNic();
    const shell = new NetIfShell(first);
    const calls: string[] = [];
    shell.setEvents({ rxReady: () => calls.push('rx'), txRestart: () => calls.push('tx') });
    const pool = new Mempool({ segments: 4 });
    const m = pool.alloc()!;
    expect(shell.transmit(m)).toBe('ok');
    expect(shell.unplug()).toBe(first);
    expect(first.ev).toBeNull();
    expect(shell.transmit(m)).toBe('busy');
    expect(shell.poll(64, () => {})).toBe(0);
    const next = fakeNic();
    shell.plug(next);
    expect(next.ev).not.toBeNull();
    expect(calls).toEqual(['tx', 'rx']);
    expect(shell.transmit(m)).toBe('ok');
    expect([first.sent, next.sent]).toEqual([1, 1]);
    m.free();
  });

  it('names the NIC that carries the frames to its holder, and itself between two', () => {
    const first = fakeNic();
    const shell = new NetIfShell(first);
    const named: (NetIf | null)[] = [];
    const ev: NetIfEvents = { rxReady() {}, txRestart() {}, datapath: (d) => named.push(d) };
    shell.setEvents(ev);
    expect(named).toEqual([first]);
    // The plugin hears rxReady/txRestart from the holder itself, not through the shell.
    expect(first.ev).toBe(ev);
    shell.unplug();
    const next = fakeNic();
    shell.plug(next);
    expect(named).toEqual([first, null, next]);
    expect(next.ev).toBe(ev);
  });

  it('keeps a Link off the shell per frame: transmits reach the plugin, or wait while unplugged', () => {
    const first = fakeNic();
    const shell = new NetIfShell(first);
    const forwarded = vi.spyOn(shell, 'transmit');
    const stack = new Stack({ netif: shell, ipv4: '10.1.0.1/24', time: new VirtualClock(0) });
    // A gratuitous ARP goes out at once: one frame per announce.
    stack.announce();
    expect(first.sent).toBe(1);
    shell.unplug();
    stack.announce();
    const next = fakeNic();
    shell.plug(next);
    // Plugging drained the frame that waited in the backlog into the new NIC.
    expect(next.sent).toBe(1);
    stack.announce();
    expect([first.sent, next.sent]).toEqual([1, 2]);
    expect(stack.counters.txBusy).toBe(1);
    // The shell saw one frame: the one sent while unplugged, which it refused.
    expect(forwarded.mock.results.map((r) => r.value)).toEqual(['busy']);
  });

  it('refuses a plugin that lacks a transmit offload or has another MTU', () => {
    const shell = new NetIfShell(fakeNic({ ...NO_OFFLOADS, txCsum: true, tso4: true }));
    shell.unplug();
    expect(() => shell.plug(fakeNic())).toThrow(UnikernelError);
    expect(() => shell.plug({ ...fakeNic({ ...NO_OFFLOADS, txCsum: true, tso4: true }), mtu: 9000 })).toThrow(
      UnikernelError,
    );
    // Receive offloads may differ: a NIC that delivers less is fine.
    shell.plug(fakeNic({ ...NO_OFFLOADS, txCsum: true, tso4: true, rxGso: true }));
    expect(shell.plugin).not.toBeNull();
  });
});
