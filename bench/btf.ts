// bench/btf.ts: how fast is the kernel's BTF usable, tsbpf vs C libbpf?
//   vmlinux_ready: read /sys/kernel/btf/vmlinux, parse it, find 15 kernel structs
//                  by name and decode their members (names and member types).
//                  Each side runs in fresh processes; each times its own work,
//                  from before the file is opened: tsbpf through loadKernelBtf()
//                  (what CO-RE loading calls), C through btf__parse().
//   heap_mib:      JS heap retained by the parsed Btf after that work (raw bytes excluded).
// Usage: npx tsx bench/btf.ts [--json] [--runs N] [--tsx]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { bundleForNode } from './lib/bundle.ts';
import { buildC, median, printResult } from './lib/contract.ts';
import { loadKernelBtf } from '../src/btf/kernel.ts';
import { BTF_KIND_STRUCT, type BtfComposite } from '../src/btf/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const VMLINUX = '/sys/kernel/btf/vmlinux';
const STRUCTS = [
  'task_struct', 'mm_struct', 'file', 'dentry', 'inode', 'sk_buff', 'sock', 'net_device',
  'super_block', 'cred', 'pid', 'vm_area_struct', 'page', 'files_struct', 'signal_struct',
];

interface ChildResult { total_ms: number; members: number; checksum: number; heap_bytes?: number }

/** One measurement in this (fresh) process: the timed work, then the retained heap. */
function child(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  // Maps the file read-only where the kernel allows it (Linux 6.16+, as libbpf 1.6 does; else reads it,
  // one read() per 4 KiB page, as btf__parse's fread does) and parses it.
  const btf = loadKernelBtf({ path: VMLINUX });
  let members = 0;
  let checksum = 0;
  for (const name of STRUCTS) {
    const id = btf.findByNameKind(name, BTF_KIND_STRUCT);
    if (id < 0) throw new Error(`struct ${name} not found`);
    const t = btf.type(id) as BtfComposite;
    for (const m of t.members) {
      // Same work as the C side: member name, the member type's kind and name, bit offset.
      const mt = btf.type(m.type);
      checksum += m.name.length + mt.name.length + mt.kind + m.bitOffset;
      members++;
    }
  }
  const t1 = performance.now();
  let heapBytes: number | undefined;
  if (gc) {
    gc();
    heapBytes = process.memoryUsage().heapUsed - heap0;
  }
  // Keep btf alive until after the heap sample (without touching anything lazy).
  if (btf.bytes.length < 0) console.log('unreachable');
  const out: ChildResult = { total_ms: t1 - t0, members, checksum, heap_bytes: heapBytes };
  console.log(JSON.stringify(out));
}

/**
 * The measured child runs this same file bundled to plain JS (bench/lib/bundle.ts:
 * what a user ships, with no tsx loader thread beside the timed work). `--tsx`
 * measures under tsx instead.
 */
async function childScript(): Promise<string[]> {
  if (process.argv.includes('--tsx')) return ['--import', 'tsx', fileURLToPath(import.meta.url)];
  return [await bundleForNode(fileURLToPath(import.meta.url))];
}

function runTs(childArgs: string[]): ChildResult {
  const out = execFileSync(process.execPath, ['--expose-gc', ...childArgs, '--child'], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

function runC(bin: string): ChildResult {
  const out = execFileSync(bin, [VMLINUX], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--child')) return child();
  const json = args.includes('--json');
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : 15;
  const bin = buildC(join(here, 'c/btf_bench.c'), join(here, 'c/build/btf_bench'));
  const childArgs = await childScript();

  const ts: number[] = [];
  const c: number[] = [];
  const heap: number[] = [];
  // Alternate the two sides so machine noise hits both alike.
  for (let i = 0; i < runs; i++) {
    const a = runTs(childArgs);
    const b = runC(bin);
    if (a.members !== b.members || a.checksum !== b.checksum)
      throw new Error(`tsbpf and libbpf disagree: ${a.members}/${a.checksum} members/checksum vs ${b.members}/${b.checksum}`);
    ts.push(a.total_ms);
    c.push(b.total_ms);
    if (a.heap_bytes !== undefined) heap.push(a.heap_bytes / (1024 * 1024));
  }
  const tsMs = median(ts);
  const cMs = median(c);
  if (!json) console.log(`runs: ${runs}; tsbpf ms: ${ts.map((x) => x.toFixed(2)).join(' ')}\n          libbpf ms: ${c.map((x) => x.toFixed(2)).join(' ')}`);
  printResult('btf', [
    { id: 'vmlinux_ready', unit: 'ms', ts: tsMs, c: cMs, ratio: tsMs / cMs },
    { id: 'heap_mib', unit: 'MiB', ts: median(heap), c: null, ratio: null },
  ], json);
}

await main();
