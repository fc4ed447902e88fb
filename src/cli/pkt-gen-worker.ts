// The receiver of runPktGenThreads (pkt-gen-threads.ts), in a worker thread: a guest on the
// parent's VALE port with its sync loop inline here, pkt-gen's receiver on its netmap-native port
// until the sender is done (a shared word) and everything arrived or nothing did for idleMs.
import { parentPort, workerData } from 'node:worker_threads';
import { pktGenRx } from '../driver/index.ts';
import { openPort, type SyncKloop } from '../host/index.ts';
import { pktGenGuest } from './pkt-gen.ts';
import { PG_DONE, PG_SENT_BYTE, type PktGenWorkerData, type PktGenWorkerEvent } from './pkt-gen-threads.ts';

const data = workerData as PktGenWorkerData;
const post = (m: PktGenWorkerEvent): void => parentPort!.postMessage(m);
const done = new Int32Array(data.ctrl);
const sent = new Float64Array(data.ctrl, PG_SENT_BYTE, 1);
const loops: SyncKloop[] = [];
const port = pktGenGuest(openPort(data.port), 'inline', loops);
let timer: ReturnType<typeof setInterval> | undefined;
try {
  const rx = pktGenRx(
    port,
    (got, idle) => {
      if (Atomics.load(done, PG_DONE) === 0) return false;
      // The poller sleeps on interrupts; once the sender is done, time alone must also wake it.
      timer ??= setInterval(() => port.wakeAll(), data.idleMs / 4);
      return got >= sent[0]! || idle >= data.idleMs;
    },
    data.warmupMs,
  );
  // A receiver asleep when the sender finishes is woken by time (checked here, not per packet).
  const poke = setInterval(() => {
    if (Atomics.load(done, PG_DONE) !== 0) {
      port.wakeAll();
      clearInterval(poke);
    }
  }, 5);
  post({ type: 'ready' });
  const r = await rx;
  clearInterval(poke);
  clearInterval(timer);
  // Detached before the report: the parent may end this thread as soon as it has it.
  port.adapter.detach();
  post({ type: 'done', rx: r });
} catch (e) {
  clearInterval(timer);
  port.adapter.detach();
  post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
}
