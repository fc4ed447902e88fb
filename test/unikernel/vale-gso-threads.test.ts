// VALE's segmentation from several threads at once: two TSO senders, each with its sync loop in a
// worker thread, stream to one receiver without offloads on the same switch. Both senders' TX
// flushes segment toward the header-less port concurrently, each claiming a scratch window of the
// region's memory (src/host/vale-gso-scratch.ts) and writing into the receiver's slot buffers
// under its RX ring's lock: both streams must arrive intact.
import { describe, expect, it } from 'vitest';
import { tcpSend, type ConnReport } from '../../src/apps/index.ts';
import { ValeSwitch } from '../../src/host/index.ts';
import { until } from '../support/until.ts';
import { trackBoots } from '../support/booted.ts';

const { boot, closeAll } = trackBoots();

describe('VALE segmentation from concurrent sender threads', () => {
  it('two TSO senders in worker threads toward one header-less receiver: both streams intact', async () => {
    const vale = new ValeSwitch('valegsot', { vnetHdrLen: 12 });
    const r = await boot({ port: vale.attach('r'), ipv4: '10.0.0.1/24', offloads: false });
    const reports: ConnReport[] = [];
    r.serve({ onClose: (x) => reports.push(x) });
    const s1 = await boot({ port: vale.attach('s1'), ipv4: '10.0.0.2/24', mode: 'worker', offloads: true });
    const s2 = await boot({ port: vale.attach('s2'), ipv4: '10.0.0.3/24', mode: 'worker', offloads: true });
    expect([r.offloads, s1.offloads, s2.offloads]).toEqual([false, true, true]);
    const bytes = 6 << 20;
    const [d1, d2] = await Promise.all([
      tcpSend(s1.net, { host: '10.0.0.1', port: 9, bytes }),
      tcpSend(s2.net, { host: '10.0.0.1', port: 9, bytes }),
    ]);
    await until(() => reports.filter((x) => x.service === 'discard').length === 2, 20_000, 'both reports');
    const got = reports.map((x) => x.sha256).sort();
    expect(got).toEqual([d1.sha256, d2.sha256].sort());
    expect(reports.every((x) => x.bytes === bytes)).toBe(true);
    // The senders sent super-frames; the receiver got MSS-sized frames: the switch segmented them.
    const rs = r.stats();
    const sent = s1.stats().txPackets + s2.stats().txPackets;
    expect(rs.rxPackets).toBeGreaterThan(2 * sent);
    // Every scratch window is free again.
    const gso = vale.sw.gso!;
    const claimed = [gso.claim(), gso.claim()];
    expect(claimed).toEqual([0, 1]);
    for (const k of claimed) gso.release(k);
    await closeAll();
    await vale.close();
  }, 60_000);
});
