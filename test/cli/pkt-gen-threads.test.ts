// pkt-gen with a thread each (src/cli/pkt-gen-threads.ts): the sender here, the receiver in a
// worker, both sync loops inline in their thread over one VALE switch or a pipe. Every frame sent
// is either received or counted as a host drop, and a receiver that cannot start is a typed error.
import { describe, expect, it } from 'vitest';
import { runPktGenThreads } from '../../src/cli/pkt-gen-threads.ts';
import { HostError } from '../../src/host/index.ts';

const THROWING = new URL('../unikernel/fixtures/throwing-worker.mjs', import.meta.url);

describe('pkt-gen, a thread each', () => {
  it('accounts for every frame: received + dropped by the switch = sent', async () => {
    const r = await runPktGenThreads({ size: 60, batch: 256, seconds: 0.3 });
    expect(r.tx.packets).toBeGreaterThan(1000);
    expect(r.rx.packets).toBeGreaterThan(0);
    expect(r.rx.packets + r.hostDrops).toBe(r.tx.packets);
    expect(r.rx.bytes).toBe(r.rx.packets * 60);
  });

  it('over a pipe every frame arrives (a pipe pushes back, it does not drop)', async () => {
    const r = await runPktGenThreads({ backend: 'pipe', size: 61, batch: 64, seconds: 0.3 });
    expect(r.tx.packets).toBeGreaterThan(1000);
    expect(r.hostDrops).toBe(0);
    expect(r.rx.packets).toBe(r.tx.packets);
    expect(r.rx.bytes).toBe(r.tx.packets * 61);
  });

  it('a receiver whose worker cannot start rejects with HostError HOST_WORKER', async () => {
    const err = await runPktGenThreads({ size: 60, batch: 32, seconds: 0.05, workerUrl: THROWING }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe('HOST_WORKER');
    expect((err as HostError).message).toContain('refusing to start');
  });
});
