// Issue 15, live migration in one process: a unikernel receiving a TCP stream over VALE is frozen
// (Unikernel.freeze: quiesce, capture, shut down) and restored on a new port of the same switch
// (Unikernel.boot with `restore`), inline or with a worker sync loop. The application moves its
// handlers to the restored socket; the stream completes with its SHA-256 intact and no reset on
// either side.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tcpSend } from '../../src/apps/index.ts';
import { ValeSwitch, type ValePort } from '../../src/host/index.ts';
import type { Socket } from '../../src/stack/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';
import { until } from '../support/until.ts';
import { trackBoots } from '../support/booted.ts';

const { boot } = trackBoots();

function resets(u: Unikernel): number {
  const c = u.stack.tcp.counters;
  return c.outRsts + c.estabResets;
}

describe('Unikernel.freeze and boot({ restore })', () => {
  it.each([
    ['inline', '10.0.0.1', 'bytes'],
    ['worker', 'fd00::1', 'a function called once the new NIC is up'],
  ] as const)(
    'a receiver frozen mid-stream and restored on a new VALE port (%s loop, to %s, restore: %s): intact, no reset',
    async (mode, host, form) => {
      const vale = new ValeSwitch(`valem-${mode}`, { vnetHdrLen: 12 });
      const aOpts = { ipv4: '10.0.0.1/24', ipv6: 'fd00::1/64' };
      let a = await boot({ port: vale.attach('a0'), ...aOpts });
      const b = await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', ipv6: 'fd00::2/64' });
      // The application's state (its hash) lives outside the unikernel and moves with it.
      const hash = createHash('sha256');
      let got = 0;
      let ended = false;
      // The old socket stops reading at pauseAt: the window closes and the stream waits, mid-way,
      // however long the new NIC takes to plug (its bytes then travel in the snapshot's queues).
      let pauseAt = 4_000_000;
      const take = (s: Socket): void => {
        s.on('data', (d: Buffer) => {
          hash.update(d);
          got += d.length;
          if (got >= pauseAt) s.pause();
        });
        s.on('end', () => {
          ended = true;
          s.end();
        });
      };
      a.net.createServer(take).listen(5000);
      const bytes = 24_000_000;
      const tx = tcpSend(b.net, { host, port: 5000, bytes });
      await until(() => got >= pauseAt);
      pauseAt = Infinity;
      const mac = Uint8Array.from(a.stack.netif.mac);
      const old = a.port as ValePort;
      const prev = a;
      const restore = form === 'bytes' ? await prev.freeze() : () => prev.freeze();
      a = await boot({ port: vale.attach('a1'), ...aOpts, mode, restore });
      vale.detach(old);
      expect(a.restored!.sockets).toHaveLength(1);
      // Mid-stream: the rest arrives through the restored unikernel.
      expect(got).toBeLessThan(bytes);
      expect(a.restored!.servers.map((s) => s.address()?.port)).toEqual([5000]);
      expect(a.restoreReport!.connections).toBe(1);
      expect(a.restoreReport!.outageMs).toBeGreaterThanOrEqual(0);
      expect([...a.stack.netif.mac]).toEqual([...mac]);
      const s = a.restored!.sockets[0]!;
      expect(s.localPort).toBe(5000);
      expect(s.localAddress).toBe(host);
      take(s);
      const d = await tx;
      await until(() => ended);
      expect(got).toBe(bytes);
      expect(hash.digest('hex')).toBe(d.sha256);
      expect(resets(a)).toBe(0);
      expect(resets(b)).toBe(0);
    },
    60_000,
  );

  it('a truncated snapshot, or one for other addresses, is refused before anything is plugged', async () => {
    const vale = new ValeSwitch('valem-bad', { vnetHdrLen: 12 });
    const a = await boot({ port: vale.attach('a0'), ipv4: '10.0.0.1/24' });
    const b = await boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    a.net.createServer((s) => s.resume()).listen(7);
    const c = b.net.connect({ host: '10.0.0.1', port: 7 });
    await new Promise((r) => c.once('connect', r));
    c.write(Buffer.alloc(10_000));
    const snap = await a.freeze();
    const port = vale.attach('a1');
    await expect(
      Unikernel.boot({ port, ipv4: '10.0.0.1/24', restore: snap.subarray(0, 100) }),
    ).rejects.toThrow(expect.objectContaining({ name: 'SnapshotError', code: 'TRUNCATED' }));
    // Decoded, then refused against the new stack: its connection is not for 10.0.0.9.
    await expect(Unikernel.boot({ port, ipv4: '10.0.0.9/24', restore: snap })).rejects.toThrow(
      expect.objectContaining({ name: 'SnapshotError', code: 'BAD_ADDRESS' }),
    );
    // The port was left as it was: the right restore works on it.
    const a2 = await boot({ port, ipv4: '10.0.0.1/24', restore: snap });
    expect(a2.restored!.sockets).toHaveLength(1);
    const echo = Buffer.from('after the move');
    c.write(echo);
    let got = 0;
    a2.restored!.sockets[0]!.on('data', (d: Buffer) => (got += d.length));
    await until(() => got >= echo.length);
    expect(resets(a2) + resets(b)).toBe(0);
  });
});
