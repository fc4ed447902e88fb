// Packet memories: shared, fixed size, registered per thread (a worker re-registers the Memory it
// receives, whose buffer is a different SharedArrayBuffer object there).
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChecksumError,
  createPacketMemory,
  csumPartial,
  copierFor,
  registerPacketMemory,
  unregisterPacketMemory,
} from '../../src/checksum/index.ts';
import { kernelFor } from '../../src/checksum/packet-memory.ts';

describe('createPacketMemory / registerPacketMemory', () => {
  it('makes a shared, page-rounded, never-grown memory whose buffer is registered', () => {
    const pm = createPacketMemory(100_000);
    expect(pm.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(pm.buffer.byteLength).toBe(2 * 65536);
    expect(pm.memory.buffer).toBe(pm.buffer);
    expect(registerPacketMemory(pm.memory)).toBe(pm.buffer); // idempotent
    expect(kernelFor(pm.buffer)).toBeTypeOf('function');
    expect(kernelFor(new SharedArrayBuffer(16))).toBeUndefined();
  });

  it('after unregistering, csumPartial falls back to JS with the same result', () => {
    const pm = createPacketMemory(65536);
    const view = new Uint8Array(pm.buffer, 3, 1500);
    for (let i = 0; i < view.length; i++) view[i] = (i * 7 + 3) & 0xff;
    const inPlace = csumPartial(view, 1, 1499);
    expect(unregisterPacketMemory(pm.memory)).toBe(true);
    expect(unregisterPacketMemory(pm.memory)).toBe(false);
    expect(kernelFor(pm.buffer)).toBeUndefined();
    expect(csumPartial(view, 1, 1499)).toBe(inPlace);
  });

  it('rejects sizes it cannot serve and non-shared memories', () => {
    for (const n of [0, -1, 1.5, Number.NaN, 65536 * 65536]) {
      try {
        createPacketMemory(n);
        expect.unreachable(String(n));
      } catch (e) {
        expect(e).toBeInstanceOf(ChecksumError);
        expect((e as ChecksumError).code).toBe('CSUM_ARG');
      }
    }
    expect(() => registerPacketMemory({ buffer: new ArrayBuffer(65536) })).toThrow(ChecksumError);
  });

  it('a worker that registers the posted Memory sums in place, equal to this thread', async () => {
    const pm = createPacketMemory(65536);
    const bytes = new Uint8Array(pm.buffer);
    for (let i = 0; i < 4096; i++) bytes[i] = (i * 31 + 7) & 0xff;
    const here = csumPartial(bytes, 5, 3001);
    const src = new URL('../../src/checksum/index.ts', import.meta.url).href;
    // The worker loads the TypeScript sources through tsx's ESM loader.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(src)}); }).then((m) => {
        const buf = m.registerPacketMemory(workerData);
        const view = new Uint8Array(buf);
        parentPort.postMessage({ sum: m.csumPartial(view, 5, 3001), sameBuffer: buf === workerData.buffer });
      });`;
    const worker = new Worker(code, { eval: true, workerData: pm.memory });
    const reply = await new Promise<{ sum: number; sameBuffer: boolean }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(reply).toEqual({ sum: here, sameBuffer: true });
  });
});

describe('copierFor: memory.copy within a packet memory', () => {
  it('property: moves bytes exactly as copyWithin does, overlapping ranges included', () => {
    const { buffer } = createPacketMemory(1 << 16);
    const copy = copierFor(buffer)!;
    expect(copy).toBeTypeOf('function');
    const mem = new Uint8Array(buffer);
    const model = new Uint8Array(1 << 16);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4096 }),
        fc.integer({ min: 0, max: 4096 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer(),
        (dst, src, len, seed) => {
          for (let i = 0; i < 8192; i++) mem[i] = model[i] = (i * 31 + seed) & 0xff;
          copy(dst, src, len);
          model.copyWithin(dst, src, src + len);
          expect(Buffer.from(mem.subarray(0, 8192)).equals(Buffer.from(model.subarray(0, 8192)))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is undefined for memory that is not a registered packet memory', () => {
    expect(copierFor(new SharedArrayBuffer(4096))).toBeUndefined();
    expect(copierFor(new ArrayBuffer(4096))).toBeUndefined();
  });
});
