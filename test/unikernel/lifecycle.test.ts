// Lifecycle of the public objects: `await close()` and `await using` for Unikernel, ValeSwitch,
// VALE ports and pipes; boot() rejecting with a typed error when its worker cannot start; and a
// process that boots and closes ending on its own.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HostError, ValeSwitch, createPipe } from '../../src/host/index.ts';
import { Unikernel, UnikernelError } from '../../src/unikernel/index.ts';

const CHILD = new URL('./fixtures/boot-close.ts', import.meta.url).pathname;
const THROWING = new URL('./fixtures/throwing-worker.mjs', import.meta.url);
const MISSING = new URL('./fixtures/no-such-worker.mjs', import.meta.url);

async function bootError(workerUrl: URL): Promise<{ err: unknown; ms: number }> {
  const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
  const t0 = Date.now();
  let err: unknown = null;
  try {
    const u = await Unikernel.boot({
      port: vale.attach('a'),
      ipv4: '10.0.0.1/24',
      mode: 'worker',
      workerUrl,
    });
    await u.close();
  } catch (e) {
    err = e;
  }
  const ms = Date.now() - t0;
  // The failed boot stopped its kloop: the port detaches, the switch closes.
  await vale.close();
  return { err, ms };
}

describe('boot() when the worker cannot start', () => {
  it('rejects with UnikernelError WORKER_START when the worker entry throws', async () => {
    const { err, ms } = await bootError(THROWING);
    expect(err).toBeInstanceOf(UnikernelError);
    expect((err as UnikernelError).code).toBe('WORKER_START');
    const cause = (err as UnikernelError).cause;
    expect(cause).toBeInstanceOf(HostError);
    expect((cause as HostError).code).toBe('HOST_WORKER');
    expect(String((err as Error).message)).toContain('refusing to start');
    expect(ms).toBeLessThan(5_000);
  });

  it('rejects with UnikernelError WORKER_START when the worker entry does not exist', async () => {
    const { err, ms } = await bootError(MISSING);
    expect(err).toBeInstanceOf(UnikernelError);
    expect((err as UnikernelError).code).toBe('WORKER_START');
    expect(ms).toBeLessThan(5_000);
  });
});

describe('close() and await using', () => {
  it('disposes unikernels, then the switch, in reverse declaration order', async () => {
    let outer: { vale: ValeSwitch; a: Unikernel; b: Unikernel } | null = null;
    {
      await using vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
      await using a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24' });
      await using b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24', mode: 'worker' });
      expect(await b.ping('10.0.0.1')).toBeGreaterThanOrEqual(0);
      outer = { vale, a, b };
    }
    // Disposed: the switch refuses attaches, the unikernels are down (close is idempotent).
    expect(() => outer!.vale.attach('c')).toThrow(HostError);
    await outer!.a.close();
    await outer!.b.close();
    await outer!.vale.close();
  });

  it('a switch does not close under a running unikernel', async () => {
    const vale = new ValeSwitch('vale0');
    const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24' });
    await expect(vale.close()).rejects.toMatchObject({ code: 'HOST_BUSY' });
    expect(() => vale.attach('b')).not.toThrow(); // still open
    await a.close();
    await vale.close();
    expect(() => vale.attach('c')).toThrow(HostError);
  });

  it('a VALE port closes by itself and its name can be attached again', async () => {
    const vale = new ValeSwitch('vale0');
    const p = vale.attach('a');
    await p.close();
    await p.close();
    const q = vale.attach('a');
    await vale.close();
    await q.close();
  });

  it('a pipe end refuses to close under its kloop; both ends close after the unikernel', async () => {
    const [p0, p1] = createPipe('lc');
    const u = await Unikernel.boot({ port: p0, ipv4: '10.0.0.1/24' });
    await expect(p0.close()).rejects.toMatchObject({ code: 'HOST_BUSY' });
    await u.close();
    await p0.close();
    await p1.close();
    await p1.close();
  });

  it.each(['inline', 'worker', 'shared'])(
    'a process that boots (%s) and closes everything exits on its own',
    (mode) => {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, mode], {
        encoding: 'utf8',
        timeout: 25_000,
        killSignal: 'SIGKILL',
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('closed\n');
      expect(r.signal).toBeNull(); // not killed at the bound: it ended by itself
      expect(r.status).toBe(0);
      expect(Date.now() - t0).toBeLessThan(25_000);
    },
    30_000,
  );
});
