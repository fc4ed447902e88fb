// Hammers a kring lock from another thread (kring.test.ts): plain, non-atomic increments of a
// shared counter inside the critical section. Plain JS entry: tsx is registered through its API.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { Kring } = await tsImport('../../src/host/kring.ts', import.meta.url);
const st = new Int32Array(workerData.sab);
const kr = new Kring(st, 0, 8, false);
// Start together: report ready, then wait for the go word.
Atomics.add(st, workerData.ready, 1);
Atomics.wait(st, workerData.go, 0);
for (let i = 0; i < workerData.n; i++) {
  kr.lock();
  // Read, dawdle, write: without mutual exclusion another thread's update is lost here.
  const v = st[workerData.counter];
  for (let k = 0; k < 16; k++) st[workerData.counter + 3] = k;
  st[workerData.counter] = v + 1;
  kr.unlock();
}
