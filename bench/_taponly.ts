import { tapRows } from './e2e-tap.ts';
import { linuxReference } from './linux-reference.ts';
const ref = await linuxReference(false);
const rows = await tapRows(true, ref);
for (const r of rows) console.log(r.name, r.value.toFixed(2), r.unit, ref.tcpStreamGbps);
