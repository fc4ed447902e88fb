// pkt-gen between two guests in two threads, each with its sync loop inline in its own thread,
// over one VALE switch or a netmap pipe in shared memory: the sender here, the receiver in a worker
// (pkt-gen-worker.ts), as the seed's two VMs on two CPUs. The receiver learns when and how much
// the sender sent through shared words, not messages.
import { Worker } from 'node:worker_threads';
import { pktGenTx, type PktGenSide } from '../driver/index.ts';
import type { SyncKloop } from '../host/index.ts';
import {
  HostError,
  ValeSwitch,
  createPipe,
  portHandle,
  releaseOrphanedKloop,
  type PortHandle,
} from '../host/index.ts';
import { pktGenGuest } from './pkt-gen.ts';

export interface PktGenThreadsScenario {
  /** A VALE switch (default) or a netmap pipe between the two guests. */
  backend?: 'vale' | 'pipe';
  size: number;
  batch: number;
  seconds: number;
  /** How long the receiver waits for stragglers once the sender is done (default 100). */
  idleMs?: number;
  /** Milliseconds sent before the measured window (PktGenOptions.warmupMs, default 0). */
  warmupMs?: number;
  /** The receiver's worker entry (default: pkt-gen-worker beside this module). */
  workerUrl?: URL | string;
}

export interface PktGenThreadsResult {
  tx: PktGenSide;
  rx: PktGenSide;
  /** Packets the switch dropped toward the receiver (its RX ring full: VALE does not push back). */
  hostDrops: number;
}

/** Words shared with the receiver: DONE (0/1), then the sender's packet count as a float64 at byte 8. */
export const PG_DONE = 0;
export const PG_SENT_BYTE = 8;
export const PG_WORDS_BYTES = 16;

/** What the receiver's worker gets. */
export interface PktGenWorkerData {
  port: PortHandle;
  ctrl: SharedArrayBuffer;
  idleMs: number;
  warmupMs: number;
}

/** Receiver → parent. */
export type PktGenWorkerEvent =
  { type: 'ready' } | { type: 'done'; rx: PktGenSide } | { type: 'failed'; message: string };

function defaultWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./pkt-gen-worker-boot.mjs', import.meta.url)
    : new URL('./pkt-gen-worker.js', import.meta.url);
}

/** Runs the receiver in a worker, the sender here, over a fresh VALE switch; detaches everything. */
export async function runPktGenThreads(s: PktGenThreadsScenario): Promise<PktGenThreadsResult> {
  const vale = s.backend === 'pipe' ? null : new ValeSwitch('vale-pg-threads', {});
  const [pa, pb] = vale === null ? createPipe('pg-threads') : [vale.attach('a'), vale.attach('b')];
  const ctrl = new SharedArrayBuffer(PG_WORDS_BYTES);
  const data: PktGenWorkerData = {
    port: portHandle(pb),
    ctrl,
    idleMs: s.idleMs ?? 100,
    warmupMs: s.warmupMs ?? 0,
  };
  const worker = new Worker(s.workerUrl ?? defaultWorkerUrl(), { workerData: data });
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  // Every message and failure of the worker, in order.
  const events: PktGenWorkerEvent[] = [];
  let wake: () => void = () => {};
  const push = (e: PktGenWorkerEvent): void => {
    events.push(e);
    wake();
  };
  worker.on('message', push);
  worker.on('error', (e) => push({ type: 'failed', message: e.message }));
  worker.on('exit', (code) => push({ type: 'failed', message: `receiver exited with code ${code}` }));
  const next = async (): Promise<PktGenWorkerEvent> => {
    while (events.length === 0) await new Promise<void>((r) => (wake = r));
    const e = events.shift()!;
    if (e.type === 'failed') throw new HostError('HOST_WORKER', `pkt-gen receiver: ${e.message}`);
    return e;
  };
  const loops: SyncKloop[] = [];
  const a = pktGenGuest(pa, 'inline', loops);
  try {
    await next(); // ready: its guest attached, its receiver polling
    // The receiver runs in its own thread: the sender owes it no task (peerBacklog 0), only its
    // own event loop one a millisecond. Pipe, alone: 19.5–20.3 against 15.2–16.5
    // Mpps with a task every quarter ring; VALE the same within its spread.
    const tx = await pktGenTx(a, {
      size: s.size,
      batch: s.batch,
      durationMs: s.seconds * 1000,
      ...(s.warmupMs === undefined ? {} : { warmupMs: s.warmupMs }),
      peerBacklog: () => 0,
    });
    new Float64Array(ctrl, PG_SENT_BYTE, 1)[0] = tx.packets;
    // Published after the count (a sequentially consistent store orders it).
    Atomics.store(new Int32Array(ctrl), PG_DONE, 1);
    const done = await next();
    const rx =
      done.type === 'done' ? done.rx : { packets: 0, bytes: 0, seconds: 0, mpps: 0, warmupPackets: 0 };
    const hostDrops = Object.values(pb.datapath.drops()).reduce((x, y) => x + y, 0);
    return { tx, rx, hostDrops };
  } finally {
    a.adapter.detach();
    // The receiver detaches before it reports; one that failed or hangs is ended here, and its
    // port freed if its loop died with it.
    await worker.terminate();
    await exited;
    releaseOrphanedKloop(pb);
    await vale?.close();
  }
}
