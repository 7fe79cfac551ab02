// A process that calls getpgid(2) in a tight loop: the trigger of the
// producers of bpf/ringbuf_bench.bpf.o (they filter on this process's pid).
// It waits for one byte on stdin, then loops for <seconds> (or until killed),
// and prints the number of calls made.
//   node --import tsx bench/lib/getpgid_loop.ts <seconds>
import { libcGetpgid } from '../../src/syscall/index.ts';

const seconds = Number(process.argv[2] ?? '60');
process.stdin.once('data', () => {
  const until = performance.now() + seconds * 1000;
  let calls = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 64; i++) libcGetpgid(0);
    calls += 64;
  }
  console.log(`getpgid calls=${calls}`);
  process.exit(0);
});
