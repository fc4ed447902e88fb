// Unikernel.stats() sums the drops of every layer, IPv6 and the driver's fragment-chain drops
// included. Here (not in test/unikernel) because the counters summed are the stack's.
import { afterEach, describe, expect, it } from 'vitest';
import { ValeSwitch } from '../../src/host/index.ts';
import { Unikernel } from '../../src/unikernel/index.ts';

const booted: Unikernel[] = [];
afterEach(() => {
  for (const u of booted.splice(0)) u.shutdown();
});

describe('Unikernel.stats drops', () => {
  it('counts IPv6 OutDiscards and the driver rxDropFrags', async () => {
    const vale = new ValeSwitch('vale-stats', { vnetHdrLen: 12 });
    const k = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', ipv6: 'fd00::1/64' });
    booted.push(k);
    const before = k.stats().drops;
    k.stack.ip6!.counters.outDiscards += 2;
    k.netif.counters.rxDropFrags += 3;
    expect(k.stats().drops - before).toBe(5);
  });
});
