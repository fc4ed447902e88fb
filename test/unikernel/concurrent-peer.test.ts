// Whether a unikernel's NIC counts its peer as running concurrently (NetIf.concurrentPeer), which
// decides whether a receive turn's replies leave per frame or once per turn (test/stack/burst.test.ts
// has the policy itself): the default follows the sync loop's mode and busyPollUs, an explicit
// BootOptions.concurrentPeer wins, and a NIC moved to another mode takes that mode's default.
import { afterEach, describe, expect, it } from 'vitest';
import { tcpSend } from '../../src/apps/index.ts';
import { PtnetDevice } from '../../src/device/index.ts';
import { ValeSwitch } from '../../src/host/index.ts';
import { Unikernel, UnikernelError, type BootOptions } from '../../src/unikernel/index.ts';
import { trackBoots } from '../support/booted.ts';

const { boot, closeAll } = trackBoots();
const switches: ValeSwitch[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(switches.splice(0).map((s) => s.close()));
});

function valeSwitch(name: string): ValeSwitch {
  const v = new ValeSwitch(name, { vnetHdrLen: 12 });
  switches.push(v);
  return v;
}

/** Kicks the unikernel's ptnet device saw (the device model's own count). */
function deviceKicks(u: Unikernel): number {
  let k = 0;
  for (const f of u.machine.functions) if (f instanceof PtnetDevice) k += f.counters.kicks;
  return k;
}

describe('BootOptions.concurrentPeer', () => {
  it('inline on VALE: false; with busyPollUs > 0: true; an explicit value wins either way', async () => {
    const vale = valeSwitch('valecp0');
    const cases: [Partial<BootOptions>, boolean][] = [
      [{}, false],
      [{ busyPollUs: 0 }, false],
      [{ busyPollUs: 50 }, true],
      [{ busyPollUs: 50, concurrentPeer: false }, false],
      [{ concurrentPeer: true }, true],
    ];
    for (const [i, [o, want]] of cases.entries()) {
      const u = await boot({ port: vale.attach(`p${i}`), ipv4: `10.0.0.${i + 1}/24`, ...o });
      expect(u.netif.concurrentPeer, JSON.stringify(o)).toBe(want);
    }
  });

  it('a value that is not a boolean is refused (BAD_OPTION), before anything is plugged', async () => {
    const vale = valeSwitch('valecp3');
    const port = vale.attach('a');
    for (const bad of [1, 'yes', null]) {
      const err = await Unikernel.boot({
        port,
        ipv4: '10.0.0.1/24',
        concurrentPeer: bad as unknown as boolean,
      }).catch((e: unknown) => e);
      expect(err, String(bad)).toBeInstanceOf(UnikernelError);
      expect((err as UnikernelError).code).toBe('BAD_OPTION');
    }
    // The port was left as it was: a unikernel boots on it.
    const u = await boot({ port, ipv4: '10.0.0.1/24', concurrentPeer: false });
    expect(u.netif.concurrentPeer).toBe(false);
  });

  it('worker mode: true; the NIC moved to an inline loop takes false, and back to a worker true', async () => {
    const vale = valeSwitch('valecp1');
    const u = await boot({ port: vale.attach('a0'), ipv4: '10.0.0.1/24', mode: 'worker' });
    expect(u.mode).toBe('worker');
    expect(u.netif.concurrentPeer).toBe(true);
    await u.switchBackend(vale.attach('a1'), { mode: 'inline' });
    expect(u.mode).toBe('inline');
    expect(u.netif.concurrentPeer).toBe(false);
    await u.switchBackend(vale.attach('a2'), { mode: 'worker' });
    expect(u.netif.concurrentPeer).toBe(true);
  });

  it('a receiver forced concurrent publishes each ACK on its own; by default a turn shares one kick', async () => {
    const vale = valeSwitch('valecp2');
    const kicksPerAck: number[] = [];
    for (const [i, concurrentPeer] of [false, true].entries()) {
      const a = await boot({ port: vale.attach(`a${i}`), ipv4: `10.0.${i}.1/24` });
      const b = await boot({ port: vale.attach(`b${i}`), ipv4: `10.0.${i}.2/24`, concurrentPeer });
      b.serve();
      const kicks0 = deviceKicks(b);
      const tx0 = b.netif.counters.txPackets;
      const sent = await tcpSend(a.net, { host: `10.0.${i}.2`, port: 9, bytes: 8 << 20 });
      expect(sent.sent).toBe(8 << 20);
      kicksPerAck.push((deviceKicks(b) - kicks0) / (b.netif.counters.txPackets - tx0));
    }
    // Every frame B sent (ACKs, its FIN) went out with a kick of its own when forced concurrent;
    // by default several ACKs of one turn shared one.
    expect(kicksPerAck[1]).toBeGreaterThanOrEqual(0.95);
    expect(kicksPerAck[0]).toBeLessThan(kicksPerAck[1]! * 0.8);
  });
});
