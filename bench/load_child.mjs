// The measured side of bench/load.ts, in a fresh process: tsbpf as a user's
// program gets it, `import 'tsbpf'` (dist/, through its compile cache).
// Prints {"total_ms", "second_ms", "programs"}. Usage: node bench/load_child.mjs OBJECT [--second]
import { BpfObject } from 'tsbpf';

const [path, flag] = process.argv.slice(2);
const t0 = performance.now();
const obj = BpfObject.open(path);
obj.load();
const t1 = performance.now();
let programs = 0;
for (const p of obj.programs.values()) if (p.loaded) programs++;
await obj.destroy();
let second = 0;
if (flag === '--second') {
  // a second object in the same process (the first one destroyed)
  const t2 = performance.now();
  const again = BpfObject.open(path);
  again.load();
  second = performance.now() - t2;
  await again.destroy();
}
console.log(JSON.stringify({ total_ms: t1 - t0, second_ms: second, programs }));
