// The thread of a unikernel worker (worker.ts): opens the parent's port from its handle, boots a
// unikernel on it with the sync loop inline in this thread (one guest, one thread: a VM on its
// own CPU), starts the services it was given and answers the parent's requests until 'close'.
import { parentPort, workerData } from 'node:worker_threads';
import { countingSink, rrServer, startServices, tcpSend } from '../apps/index.ts';
import { openPort } from '../host/index.ts';
import { Unikernel } from './unikernel.ts';
import {
  errorData,
  type UnikernelWorkerData,
  type WorkerEvent,
  type WorkerReplies,
  type WorkerRequest,
} from './worker-protocol.ts';

const data = workerData as UnikernelWorkerData;

/**
 * The guest's default busy poll (BootOptions.busyPollUs): its peer is always in another thread. An
 * answer through the other thread's stack takes tens of µs: on the 2-core development VM, with
 * both threads polling, a 50 µs bound gave 30–39 K 1-byte TCP_RR transactions/s, 100 µs 31–77 K,
 * none 7–11 K (bench/thread-each.ts --busy-poll-us).
 */
const WORKER_BUSY_POLL_US = 100;
const parent = parentPort!;
const post = (m: WorkerEvent): void => parent.postMessage(m);

/** Starts every service; returns what stops them. */
function startAll(uk: Unikernel): () => void {
  const counters = new BigInt64Array(data.counters);
  const stops: (() => void)[] = [];
  let sink = 0;
  for (const s of data.services) {
    if (s.kind === 'sink') {
      const i = sink++;
      const srv = countingSink(uk.net, s.port, (n) => Atomics.add(counters, i, BigInt(n))).server;
      stops.push(() => srv.close());
    } else if (s.kind === 'rr') {
      const srv = rrServer(uk.net, s.port);
      stops.push(() => srv.close());
    } else {
      const svc = startServices(uk.net, {
        ...(s.ports === undefined ? {} : { ports: s.ports }),
        onClose: (report) => post({ type: 'conn', report }),
      });
      stops.push(() => svc.close());
    }
  }
  return () => stops.forEach((f) => f());
}

async function answer(uk: Unikernel, r: WorkerRequest, stop: () => void): Promise<unknown> {
  switch (r.op) {
    case 'ping': {
      const o = {
        ...(r.timeout === undefined ? {} : { timeout: r.timeout }),
        ...(r.size === undefined ? {} : { size: r.size }),
      };
      return (await uk.ping(r.host, o)) satisfies WorkerReplies['ping'];
    }
    case 'stats':
      return uk.stats() satisfies WorkerReplies['stats'];
    case 'send':
      return (await tcpSend(uk.net, r.o)) satisfies WorkerReplies['send'];
    case 'close':
      stop();
      // The kloop stops before this resolves: the parent may detach or re-attach the port then.
      await uk.close();
      return null satisfies WorkerReplies['close'];
  }
}

async function main(): Promise<void> {
  let uk: Unikernel;
  try {
    uk = await Unikernel.boot({
      busyPollUs: WORKER_BUSY_POLL_US,
      ...data.boot,
      port: openPort(data.port),
      mode: 'inline',
      // Its peer is in another thread whatever the busy poll says (BootOptions.concurrentPeer).
      concurrentPeer: true,
    });
  } catch (e) {
    // With no listener on its port, nothing holds the thread: it exits once this is sent.
    post({ type: 'boot-failed', error: errorData(e) });
    return;
  }
  const stop = startAll(uk);
  const onRequest = (r: WorkerRequest): void => {
    // Closed: the unikernel held the thread's only handles; without the listener it exits.
    if (r.op === 'close') parent.off('message', onRequest);
    answer(uk, r, stop).then(
      (value) => post({ type: 'reply', id: r.id, value }),
      (e: unknown) => post({ type: 'reply', id: r.id, error: errorData(e) }),
    );
  };
  parent.on('message', onRequest);
  post({ type: 'ready' });
}

await main();
