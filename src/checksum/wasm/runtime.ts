// Minimal typings of the WebAssembly JS API. The project's lib settings (ES2023 + @types/node 20)
// declare no `WebAssembly` global, and a global .d.ts would leak into every folder, so the
// checksum folder types just what it uses and reaches the object through globalThis.

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
