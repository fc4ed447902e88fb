// A tiny WebAssembly assembler: function bodies are written as named opcodes (a structured
// stack-machine listing, like the text format without the parser) and a module with one imported
// memory and exported functions is emitted as bytes. Enough for the checksum kernels, no more.
import { name, sized, sleb, uleb, vec } from './encode.ts';
import {
  BLOCK_VOID,
  ExternKind,
  LIMITS_SHARED_MAX,
  MISC_PREFIX,
  MiscOp,
  Op,
  SIMD_PREFIX,
  Section,
  SimdOp,
  type ValType,
} from './opcodes.ts';

/** Instruction stream of one function body. Methods return `this` so listings read top-down. */
export class Code {
  readonly bytes: number[] = [];

  op(...ops: Op[]): this {
    for (const o of ops) this.bytes.push(Op[o]);
    return this;
  }
  get(local: number): this {
    this.bytes.push(Op['local.get']);
    uleb(this.bytes, local);
    return this;
  }
  set(local: number): this {
    this.bytes.push(Op['local.set']);
    uleb(this.bytes, local);
    return this;
  }
  tee(local: number): this {
    this.bytes.push(Op['local.tee']);
    uleb(this.bytes, local);
    return this;
  }
  i32(v: number): this {
    this.bytes.push(Op['i32.const']);
    sleb(this.bytes, v);
    return this;
  }
  i64(v: number): this {
    this.bytes.push(Op['i64.const']);
    sleb(this.bytes, v);
    return this;
  }
  /** block / loop / if with no result; close with end(). */
  open(kind: 'block' | 'loop' | 'if'): this {
    this.bytes.push(Op[kind], BLOCK_VOID);
    return this;
  }
  end(): this {
    this.bytes.push(Op.end);
    return this;
  }
  br(depth: number): this {
    this.bytes.push(Op.br);
    uleb(this.bytes, depth);
    return this;
  }
  brIf(depth: number): this {
    this.bytes.push(Op.br_if);
    uleb(this.bytes, depth);
    return this;
  }
  /** A scalar load or store with memarg (log2 alignment hint, constant offset). */
  mem(o: Op, alignLog2: number, offset = 0): this {
    this.bytes.push(Op[o]);
    uleb(this.bytes, alignLog2);
    uleb(this.bytes, offset);
    return this;
  }
  /** memory.copy of memory 0 onto itself: (dst, src, len) on the stack. */
  memoryCopy(): this {
    this.bytes.push(MISC_PREFIX);
    uleb(this.bytes, MiscOp['memory.copy']);
    this.bytes.push(0, 0);
    return this;
  }
  simd(...ops: SimdOp[]): this {
    for (const o of ops) {
      this.bytes.push(SIMD_PREFIX);
      uleb(this.bytes, SimdOp[o]);
    }
    return this;
  }
  simdMem(o: SimdOp, alignLog2: number, offset = 0): this {
    this.simd(o);
    uleb(this.bytes, alignLog2);
    uleb(this.bytes, offset);
    return this;
  }
  simdLane(o: SimdOp, lane: number): this {
    this.simd(o);
    this.bytes.push(lane);
    return this;
  }
  /** v128.const of eight i16 lanes, all `lane` (little-endian bytes). */
  v128I16Splat(lane: number): this {
    this.simd('v128.const');
    for (let i = 0; i < 8; i++) this.bytes.push(lane & 0xff, (lane >>> 8) & 0xff);
    return this;
  }
  /** v128.const with all 16 bytes zero. */
  v128Zero(): this {
    return this.v128I16Splat(0);
  }
}

export interface FuncDef {
  exportName: string;
  params: ValType[];
  results: ValType[];
  /** Local variables after the parameters, in index order. */
  locals: ValType[];
  code: Code;
}

/** Emits a module importing `env.memory` (shared, maxPages) and exporting each function. */
export function assembleModule(funcs: readonly FuncDef[], maxPages: number): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]): void => {
    out.push(id);
    sized(out, body);
  };

  const types: number[] = [];
  vec(types, funcs, (o, f) => {
    o.push(0x60);
    vec(o, f.params, (p, t) => p.push(t));
    vec(o, f.results, (p, t) => p.push(t));
  });
  section(Section.type, types);

  const imports: number[] = [];
  uleb(imports, 1);
  name(imports, 'env');
  name(imports, 'memory');
  imports.push(ExternKind.memory, LIMITS_SHARED_MAX);
  uleb(imports, 1);
  uleb(imports, maxPages);
  section(Section.import, imports);

  const fns: number[] = [];
  vec(
    fns,
    funcs.map((_, i) => i),
    (o, i) => uleb(o, i),
  );
  section(Section.function, fns);

  const exps: number[] = [];
  vec(
    exps,
    funcs.map((f, i) => [f.exportName, i] as const),
    (o, [n, i]) => {
      name(o, n);
      o.push(ExternKind.func);
      uleb(o, i);
    },
  );
  section(Section.export, exps);

  const code: number[] = [];
  vec(code, funcs, (o, f) => {
    const body: number[] = [];
    // Locals as runs of one type: (count, type)*.
    const runs: [number, ValType][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    vec(body, runs, (b, [n, t]) => {
      uleb(b, n);
      b.push(t);
    });
    for (const b of f.code.bytes) body.push(b);
    body.push(0x0b);
    sized(o, body);
  });
  section(Section.code, code);
  return Uint8Array.from(out);
}
