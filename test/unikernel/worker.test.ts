// A unikernel in a worker thread of its own (UnikernelWorker.spawn) against one in this thread,
// over one VALE switch or a pipe: data intact both ways, typed errors for a bad boot, a failed
// request and a thread that dies, the port free again after close(), and a process that ends on
// its own.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnReport } from '../../src/apps/index.ts';
import { tcpSend } from '../../src/apps/index.ts';
import { HostError, SyncKloop, ValeSwitch, createPipe } from '../../src/host/index.ts';
import { Unikernel, UnikernelError, UnikernelWorker } from '../../src/unikernel/index.ts';

const CHILD = new URL('./fixtures/worker-close.ts', import.meta.url).pathname;
const DYING = new URL('./fixtures/failing-uk-worker.mjs', import.meta.url);
const DYING_LOOP = new URL('./fixtures/dying-uk-worker.mjs', import.meta.url);
const THROWING = new URL('./fixtures/throwing-worker.mjs', import.meta.url);
const TCP = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/**
 * A switch, a unikernel here (10.0.0.1) and one in a worker (10.0.0.2), closed after the test;
 * `busyPollUs` for both when given (the worker's own default otherwise, none here).
 */
async function pair(busyPollUs?: number): Promise<{ vale: ValeSwitch; a: Unikernel; b: UnikernelWorker }> {
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  cleanup.push(() => vale.close());
  const busy = busyPollUs === undefined ? {} : { busyPollUs };
  const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24', tcp: TCP, ...busy });
  cleanup.push(() => a.close());
  const b = await UnikernelWorker.spawn({
    port: vale.attach('b'),
    ipv4: '10.0.0.2/24',
    tcp: TCP,
    services: [{ kind: 'standard' }, { kind: 'sink', port: 5001 }],
    ...busy,
  });
  cleanup.push(() => b.close());
  return { vale, a, b };
}

describe('a unikernel in a worker thread over VALE', () => {
  it('receives 32 MiB from this thread intact (SHA-256), counted by its sink too, and sends back', async () => {
    const { a, b } = await pair();
    const reports: ConnReport[] = [];
    b.on('conn', (r) => reports.push(r));
    const bytes = 32 << 20;
    const sent = await tcpSend(a.net, { host: '10.0.0.2', port: 9, bytes });
    expect(sent.sent).toBe(bytes);
    // The discard's report crosses as a message after its close, which may trail ours.
    for (let i = 0; i < 100 && reports.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      service: 'discard',
      bytes,
      sha256: sent.sha256,
      remoteAddress: '10.0.0.1',
    });
    expect(reports[0]!.error).toBeUndefined();

    // The counting sink's shared counter, read without a message.
    expect(b.sinkBytes(5001)).toBe(0);
    await tcpSend(a.net, { host: '10.0.0.2', port: 5001, bytes: 1 << 20 });
    expect(b.sinkBytes(5001)).toBe(1 << 20);

    // The other way: the worker sends to this thread's echo and reads it back.
    const svc = a.serve();
    cleanup.push(async () => svc.close());
    const back = await b.send({ host: '10.0.0.1', port: 7, bytes: 4 << 20, readBack: true });
    expect(back.sent).toBe(4 << 20);
    expect(back.received).toBe(4 << 20);
    expect(back.receivedSha256).toBe(back.sha256);
    const st = await b.stats();
    expect(st.rxBytes).toBeGreaterThan(bytes);
    expect(st.drops).toBe(0);
  }, 60_000);

  it('answers pings both ways; a ping nobody answers rejects with WORKER_REQUEST and its cause', async () => {
    const { a, b } = await pair();
    expect(await a.ping('10.0.0.2')).toBeGreaterThan(0);
    expect(await b.ping('10.0.0.1')).toBeGreaterThan(0);
    const before = (await b.stats()).rxPackets;
    for (let i = 0; i < 5; i++) await a.ping('10.0.0.2');
    // Five requests in, five replies out.
    expect((await b.stats()).rxPackets - before).toBe(5);
    const err = await b.ping('10.0.0.9', { timeout: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnikernelError);
    expect((err as UnikernelError).code).toBe('WORKER_REQUEST');
    expect((err as UnikernelError).cause).toMatchObject({ name: expect.any(String) });
    expect(() => b.sinkBytes(1234)).toThrow(UnikernelError);
  });

  it('busy polling in both threads (busyPollUs): the doorbell polls run, and no wake-up is lost', async () => {
    const { a, b } = await pair(100);
    const before = SyncKloop.guestPollStats();
    // A wake-up lost while a thread polled (its notify skipped, the bits never taken) would leave
    // a ping unanswered: each must come back within the second.
    for (let i = 0; i < 300; i++) expect(await a.ping('10.0.0.2', { timeout: 1000 })).toBeLessThan(1000);
    const after = SyncKloop.guestPollStats();
    // The poller ran (an open window, or its probe every PROBE_EVERY idle periods when shut).
    expect(after.hits + after.misses).toBeGreaterThan(before.hits + before.misses);
    const sent = await tcpSend(a.net, { host: '10.0.0.2', port: 5001, bytes: 8 << 20 });
    expect(sent.sent).toBe(8 << 20);
    for (let i = 0; i < 100 && b.sinkBytes(5001) < 8 << 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(b.sinkBytes(5001)).toBe(8 << 20);
  }, 60_000);

  it('close() stops its loop: the port detaches, the name attaches again and a new worker serves it', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    cleanup.push(() => vale.close());
    const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24' });
    cleanup.push(() => a.close());
    const pb = vale.attach('b');
    const b = await UnikernelWorker.spawn({ port: pb, ipv4: '10.0.0.2/24' });
    // Served by the worker's loop: the owner cannot detach it.
    expect(() => vale.detach(pb)).toThrow(HostError);
    await b.close();
    await b.close();
    await expect(b.ping('10.0.0.1')).rejects.toMatchObject({ code: 'SHUT_DOWN' });
    vale.detach(pb);
    // A request in flight when close() runs ends with it (SHUT_DOWN), and no 'error' is emitted.
    const pb1 = vale.attach('b');
    const b1 = await UnikernelWorker.spawn({ port: pb1, ipv4: '10.0.0.2/24' });
    const errors: unknown[] = [];
    b1.on('error', (e) => errors.push(e));
    const inFlight = b1.ping('10.0.0.9', { timeout: 20_000 }).catch((e: unknown) => e);
    await b1.close();
    expect(await inFlight).toMatchObject({ name: 'UnikernelError', code: 'SHUT_DOWN' });
    expect(errors).toEqual([]);
    vale.detach(pb1);
    const b2 = await UnikernelWorker.spawn({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    cleanup.push(() => b2.close());
    expect(await b2.ping('10.0.0.1')).toBeGreaterThan(0);
  });

  it('works on a pipe end as well', async () => {
    const [p0, p1] = createPipe('uw');
    cleanup.push(async () => {
      await p0.close();
      await p1.close();
    });
    const a = await Unikernel.boot({ port: p0, ipv4: '10.1.0.1/24' });
    cleanup.push(() => a.close());
    const b = await UnikernelWorker.spawn({ port: p1, ipv4: '10.1.0.2/24' });
    cleanup.push(() => b.close());
    expect(await b.ping('10.1.0.1')).toBeGreaterThan(0);
    expect(await a.ping('10.1.0.2')).toBeGreaterThan(0);
  });
});

describe('a unikernel worker that fails', () => {
  it('rejects spawn with BAD_OPTION for a bad address, and leaves the port free', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    cleanup.push(() => vale.close());
    const p = vale.attach('b');
    const err = await UnikernelWorker.spawn({ port: p, ipv4: '10.0.0.300/24' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnikernelError);
    expect((err as UnikernelError).code).toBe('BAD_OPTION');
    expect((err as UnikernelError).message).toContain('10.0.0.300');
    expect((err as UnikernelError).cause).toMatchObject({ name: 'UnikernelError', code: 'BAD_OPTION' });
    vale.detach(p);
  });

  it('rejects spawn with WORKER_START when the entry throws while loading', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    cleanup.push(() => vale.close());
    const err = await UnikernelWorker.spawn({
      port: vale.attach('b'),
      ipv4: '10.0.0.2/24',
      workerUrl: THROWING,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnikernelError);
    expect((err as UnikernelError).code).toBe('WORKER_START');
    expect((err as UnikernelError).message).toContain('refusing to start');
  });

  it("a thread that dies while running: 'error' WORKER_FAILED, the request in flight rejects too", async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    cleanup.push(() => vale.close());
    const w = await UnikernelWorker.spawn({ port: vale.attach('b'), ipv4: '10.0.0.2/24', workerUrl: DYING });
    const seen = new Promise<UnikernelError>((r) => w.once('error', r));
    const err = await w.stats().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnikernelError);
    expect((err as UnikernelError).code).toBe('WORKER_FAILED');
    expect((err as UnikernelError).message).toContain('dying');
    expect(await seen).toBe(err);
    await expect(w.ping('10.0.0.1')).rejects.toBe(err);
    await w.close();
  });
});

describe('a unikernel worker that dies with its loop running', () => {
  it('frees the port: the loop died with the thread, the owner detaches and serves it again', async () => {
    const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
    cleanup.push(() => vale.close());
    const pb = vale.attach('b');
    const w = await UnikernelWorker.spawn({ port: pb, ipv4: '10.0.0.2/24', workerUrl: DYING_LOOP });
    // Served by the worker's loop now.
    expect(() => vale.detach(pb)).toThrow(HostError);
    const seen = new Promise<UnikernelError>((r) => w.once('error', r));
    await expect(w.stats()).rejects.toMatchObject({ code: 'WORKER_FAILED' });
    expect((await seen).message).toContain('dying with its loop running');
    await w.close();
    vale.detach(pb);
    const b = await UnikernelWorker.spawn({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });
    cleanup.push(() => b.close());
    expect((await b.stats()).drops).toBe(0);
  });
});

describe('process lifetime', () => {
  it.each([
    ['close', 'closed\n'],
    ['leave', 'left\n'],
  ])(
    'a process whose worker unikernel is %s ends on its own',
    (how, out) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, how], {
        encoding: 'utf8',
        timeout: 25_000,
        killSignal: 'SIGKILL',
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(out);
      expect(r.signal).toBeNull(); // not killed at the bound: it ended by itself
      expect(r.status).toBe(0);
    },
    30_000,
  );
});
