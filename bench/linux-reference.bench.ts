import type { BenchSuite } from './harness.ts';
import { linuxReference } from './linux-reference.ts';

// Seed figures (kernel C, 2016–17: ptnet between two VMs over VALE), printed beside Linux over veth.
const SEED = { tcpStreamGbps: 21.7, tcpRrTps: 46_700, pingRttUs: 28 };

export const linuxReferenceSuite: BenchSuite = {
  name: 'linux-veth',
  async run({ quick, round }) {
    const r = await linuxReference(quick, round);
    const seed = (name: string, value: number) => ({
      name: `seed ptnet VALE ${name}`,
      value,
      measured: false,
    });
    return [
      {
        name: 'TCP_STREAM Linux⇄Linux veth',
        value: r.tcpStreamGbps ?? 0,
        unit: 'Gbps',
        reference: seed('TCP_STREAM', SEED.tcpStreamGbps),
        note: r.note,
      },
      {
        name: 'TCP_RR Linux⇄Linux veth',
        value: r.tcpRrTps ?? 0,
        unit: 'tps',
        reference: seed('TCP_RR', SEED.tcpRrTps),
        note: r.note,
      },
      {
        name: 'ping RTT Linux⇄Linux veth',
        value: r.pingRttUs ?? 0,
        unit: 'µs',
        reference: seed('ping', SEED.pingRttUs),
        note: r.note,
      },
    ];
  },
};
