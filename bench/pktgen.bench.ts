// pkt-gen guest ⇄ guest over ptnet (netmap-native ports): 60-byte frames through a host pipe and a
// VALE switch, sync loop inline and in workers, next to the seed figures (kernel C, 2016–17).
import { runPktGenScenario } from '../src/cli/pkt-gen.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

const SEED = { pipe: 46, vale: 20 };

export const pktGenSuite: BenchSuite = {
  name: 'pkt-gen',
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const batches = quick ? [256] : [1, 32, 256];
    for (const backend of ['pipe', 'vale'] as const) {
      for (const mode of ['inline', 'worker'] as const) {
        for (const batch of batches) {
          const r = await runPktGenScenario({
            backend,
            mode,
            size: 60,
            batch,
            seconds: quick ? 0.5 : 2,
            slots: 1024,
          });
          rows.push({
            name: `pkt-gen ${backend} ${mode} batch ${batch} rx`,
            value: r.rx.mpps,
            unit: 'Mpps',
            reference: { name: `seed ptnet ${backend} (kernel C)`, value: SEED[backend], measured: false },
            // Issue 11: the seed's rate inline (VALE with 0 host drops); workers at half of it.
            target: { value: mode === 'inline' ? SEED[backend] : SEED[backend] / 2, higherIsBetter: true },
            note: `tx ${r.tx.mpps.toFixed(2)} Mpps, host drops ${r.hostDrops}`,
          });
        }
      }
    }
    return rows;
  },
};
