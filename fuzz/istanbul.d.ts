// The one function of istanbul-lib-instrument (pure JS, no bundled types) that fuzz/build.ts uses.
declare module 'istanbul-lib-instrument' {
  export interface Instrumenter {
    instrumentSync(code: string, filename: string): string;
  }
  export function createInstrumenter(opts?: {
    esModules?: boolean;
    compact?: boolean;
    produceSourceMap?: boolean;
  }): Instrumenter;
}
