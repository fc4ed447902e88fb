// Entry of the pkt-gen receiver's worker run from the TypeScript sources (tsx): Node 20 does not
// apply a worker's `--import tsx` to its entry module, so register tsx here, then load it.
import { tsImport } from 'tsx/esm/api';

await tsImport('./pkt-gen-worker.ts', import.meta.url);
