// netmap's pkt-gen as a library: two guest machines, each with a ptnet NIC whose driver runs in
// netmap-native mode (no stack), on the two ends of a host pipe; one transmits 60-byte frames for
// half a second, the other counts them. Prints one JSON line with both ends' figures.
import { Machine } from 'ptnet-ts/device';
import { PtnetAdapter, PtnetNetmapPort, runPktGen } from 'ptnet-ts/driver';
import { SyncKloop, createPipe } from 'ptnet-ts/host';

const mode = process.argv[2] === 'worker' ? 'worker' : 'inline';
const loops = [];

/** A guest: a machine, a ptnet NIC passed through to `port`, the driver attached to it. */
function guest(port) {
  const machine = new Machine({ size: 16 * 4096 });
  // The device asks for a host sync loop when the driver creates its rings (PTCTL CREATE).
  machine.addPtnet(port, (p, csb, irq) => {
    const loop = new SyncKloop(p, csb, irq, mode);
    loops.push(loop);
    return loop;
  });
  return new PtnetNetmapPort(PtnetAdapter.attach(machine));
}

const [end0, end1] = createPipe('pg');
const tx = guest(end0);
const rx = guest(end1);
await Promise.all(loops.map((l) => l.ready()));
const r = await runPktGen(tx, rx, { size: 60, batch: 256, durationMs: 500 });
tx.adapter.detach();
rx.adapter.detach();
await Promise.all(loops.map((l) => l.closed()));
await end0.close();
await end1.close();
process.stdout.write(`${JSON.stringify({ mode, tx: r.tx, rx: r.rx })}\n`);
