// bootstrap: a live exec/exit tracer, in the spirit of libbpf-bootstrap's.
// The BPF side (bpf/bootstrap.bpf.c) sees every exec and exit through two
// tracepoints, reads the task through CO-RE and sends one event per exec/exit
// through a ring buffer. This side opens the object, sets the minimum
// duration, loads, attaches, and prints events until Ctrl-C.
//
//   npm start                 every exec and exit
//   npm start -- -d 100       only processes that lived at least 100 ms
//   DEBUG=tsbpf:* npm start   narrate every loader step
import { fileURLToPath } from 'node:url';
import { autoAttach } from '../src/attach/index.ts';
import { BpfObject } from '../src/object/index.ts';
import { RingBuffer } from '../src/ringbuf/index.ts';
import { decodeEvent } from './bootstrap_event.ts';

const OBJECT = fileURLToPath(new URL('../bpf/bootstrap.bpf.o', import.meta.url));

function parseArgs(argv: string[]): { minDurationMs: number; verbose: boolean } {
  let minDurationMs = 0;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-d' || a === '--duration') minDurationMs = Number(argv[++i]);
    else if (a === '-v' || a === '--verbose') verbose = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: npm start -- [-d MIN_DURATION_MS] [-v]\n  Trace process exec and exit events (needs root).');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a} (try --help)`);
      process.exit(2);
    }
  }
  if (!Number.isFinite(minDurationMs) || minDurationMs < 0) {
    console.error('-d takes a duration in milliseconds');
    process.exit(2);
  }
  return { minDurationMs, verbose };
}

async function main(): Promise<void> {
  const { minDurationMs, verbose } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) {
    console.error('bootstrap: needs root (CAP_BPF + CAP_PERFMON) to load and attach BPF programs');
    process.exit(1);
  }

  const obj = BpfObject.open(OBJECT);
  obj.rodata.set('min_duration_ns', BigInt(Math.round(minDurationMs * 1e6)));
  obj.load();
  // tracefs may not be mounted on this machine: the tracepoint attach mounts it.
  for (const p of obj.programs.values()) obj.adopt(autoAttach(p.prog!, p.sectionName, { mount: true }));
  if (verbose) {
    console.error(`tracer pid ${process.pid}`);
    for (const p of obj.programs.values()) console.error(`loaded ${p.name} (prog id ${p.prog!.info().id})`);
    for (const link of obj.links) {
      console.error(`attached ${link.target}${link.isBpfLink ? ` (link id ${link.info().id})` : ''}`);
    }
  }

  const rb = new RingBuffer(obj.map('rb').map!);
  console.log(`${'TIME'.padEnd(8)} ${'EVENT'.padEnd(5)} ${'COMM'.padEnd(16)} ${'PID'.padEnd(7)} ${'PPID'.padEnd(7)} FILENAME/EXIT CODE`);
  rb.start((view, off) => {
    const e = decodeEvent(view, off);
    const time = new Date().toTimeString().slice(0, 8);
    const head = `${time} ${(e.exitEvent ? 'EXIT' : 'EXEC').padEnd(5)} ${e.comm.padEnd(16)} ${String(e.pid).padEnd(7)} ${String(e.ppid).padEnd(7)}`;
    if (e.exitEvent) console.log(`${head} [${e.exitCode}]${e.durationNs > 0n ? ` (${(Number(e.durationNs) / 1e6).toFixed(0)}ms)` : ''}`);
    else console.log(`${head} ${e.filename}`);
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    rb.close();
    await obj.destroy();
    if (verbose) console.error(`${signal}: detached and closed`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(`bootstrap: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
