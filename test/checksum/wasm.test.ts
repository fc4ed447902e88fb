// The assembler's encodings and the kernel module it emits.
import { describe, expect, it } from 'vitest';
import { assembleModule, Code } from '../../src/checksum/wasm/assembler.ts';
import { sleb, uleb } from '../../src/checksum/wasm/encode.ts';
import { kernelModuleBytes } from '../../src/checksum/wasm/kernel.ts';
import { ValType } from '../../src/checksum/wasm/opcodes.ts';

const WA = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;

function enc(f: (out: number[], v: number) => void, v: number): number[] {
  const out: number[] = [];
  f(out, v);
  return out;
}

describe('wasm encoder', () => {
  it('LEB128 matches the spec examples', () => {
    expect(enc(uleb, 0)).toEqual([0x00]);
    expect(enc(uleb, 127)).toEqual([0x7f]);
    expect(enc(uleb, 128)).toEqual([0x80, 0x01]);
    expect(enc(uleb, 624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(enc(uleb, 0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(enc(sleb, 0)).toEqual([0x00]);
    expect(enc(sleb, -1)).toEqual([0x7f]);
    expect(enc(sleb, 63)).toEqual([0x3f]);
    expect(enc(sleb, 64)).toEqual([0xc0, 0x00]);
    expect(enc(sleb, -64)).toEqual([0x40]);
    expect(enc(sleb, -123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(enc(sleb, 0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('emits a module the engine validates, and one it rejects when the body is ill-typed', () => {
    expect(WA.validate(kernelModuleBytes())).toBe(true);
    const good = new Code().get(0).get(1).op('i32.add');
    const bad = new Code().get(0).op('i32.add');
    const def = { exportName: 'f', params: [ValType.i32, ValType.i32], results: [ValType.i32], locals: [] };
    expect(WA.validate(assembleModule([{ ...def, code: good }], 1))).toBe(true);
    expect(WA.validate(assembleModule([{ ...def, code: bad }], 1))).toBe(false);
  });

  it('starts with the magic and version, then sections in ascending id order', () => {
    const b = kernelModuleBytes();
    expect([...b.subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const ids: number[] = [];
    for (let i = 8; i < b.length;) {
      ids.push(b[i]!);
      let size = 0;
      let shift = 1;
      let j = i + 1;
      for (;;) {
        const x = b[j++]!;
        size += (x & 0x7f) * shift;
        shift *= 128;
        if (x < 0x80) break;
      }
      i = j + size;
    }
    expect(ids).toEqual([1, 2, 3, 7, 10]);
  });
});
