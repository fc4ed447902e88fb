// Entry of a unikernel worker thread run from the TypeScript sources (tsx, vitest): Node 20 does
// not apply a worker's `--import tsx` to its entry module, so register tsx here, then load it.
import { tsImport } from 'tsx/esm/api';

await tsImport('./worker-main.ts', import.meta.url);
