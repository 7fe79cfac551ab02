// bootstrap: libbpf-bootstrap's exec/exit tracer. bpf/bootstrap.bpf.c sees
// every exec and exit through two tracepoints and sends a struct event per
// process through a ring buffer; its skeleton decodes them (no offsets here).
//
//   npm start                 every exec and exit
//   npm start -- -d 100       only processes that lived at least 100 ms
//   npm start -- -v           narrate the loader (or DEBUG=tsbpf:* for every step)
import { Bootstrap } from '../bpf/skel/bootstrap.skel.ts';
import { flag, helpIfAsked, onInterrupt, requireRoot, run } from './common.ts';

const argv = process.argv.slice(2);
helpIfAsked(argv, `
usage: bootstrap [-d MIN_DURATION_MS] [-v]
  Trace process exec and exit events (needs root).
  -d MS   report only exits of processes that lived at least MS milliseconds
  -v      narrate loading and attaching`);

run('bootstrap', () => {
  const minDurationMs = Number(flag(argv, '-d', '--duration') ?? 0);
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  if (!Number.isFinite(minDurationMs) || minDurationMs < 0) throw new Error('-d takes a duration in milliseconds');
  requireRoot('bootstrap');

  const skel = Bootstrap.open();
  skel.rodata.min_duration_ns = BigInt(Math.round(minDurationMs * 1e6)); // before load: .rodata is frozen by load()
  const live = skel.load();
  live.attach({ mount: true }); // mounts tracefs if needed
  if (verbose) {
    console.error(`tracer pid ${process.pid}`);
    for (const p of Object.values(live.progs)) console.error(`loaded ${p.name} (prog id ${p.prog!.info().id})`);
    for (const l of Object.values(live.links)) console.error(`attached ${l!.target}${l!.isBpfLink ? ` (link id ${l!.info().id})` : ''}`);
  }

  console.log(`${'TIME'.padEnd(8)} ${'EVENT'.padEnd(5)} ${'COMM'.padEnd(16)} ${'PID'.padEnd(7)} ${'PPID'.padEnd(7)} FILENAME/EXIT CODE`);
  live.maps.rb.onEventView((e) => {
    const time = new Date().toTimeString().slice(0, 8);
    const head = `${time} ${(e.exit_event ? 'EXIT' : 'EXEC').padEnd(5)} ${e.comm.padEnd(16)} ${String(e.pid).padEnd(7)} ${String(e.ppid).padEnd(7)}`;
    if (e.exit_event) console.log(`${head} [${e.exit_code}]${e.duration_ns > 0n ? ` (${(Number(e.duration_ns) / 1e6).toFixed(0)}ms)` : ''}`);
    else console.log(`${head} ${e.filename}`);
  });

  onInterrupt('bootstrap', () => live.destroy());
});
