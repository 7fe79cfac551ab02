// minimal: libbpf-bootstrap's hello world. A tracepoint on write(2) entry
// counts the writes of this process (its pid set through .bss) and prints a
// line with bpf_printk; we read those lines back from the trace pipe.
//
//   npx tsx examples/minimal.ts          (as root; Ctrl-C to stop)
import { TracePipe } from 'tsbpf';
import { Minimal } from '../bpf/skel/minimal.skel.ts';
import { helpIfAsked, onInterrupt, requireRoot, run } from './common.ts';

const argv = process.argv.slice(2);
helpIfAsked(argv, `
usage: minimal [-h]
  Attach a tracepoint on write(2) that bpf_printk's once per write of this
  process; print what it wrote (read from the trace pipe) once a second.`);

run('minimal', () => {
  requireRoot('minimal');
  const skel = Minimal.openAndLoad();
  skel.bss.my_pid = process.pid; // live: the program reads it through the map
  skel.attach({ mount: true });
  const pipe = TracePipe.open({ mount: true, pid: process.pid });
  console.log(`minimal: attached (pid ${process.pid}); bpf_printk output follows. Ctrl-C to stop.`);

  // One write(2) a second: the lines read meanwhile (or a dot). Each write
  // triggers the program once, so one line a second comes back.
  let pending: string[] = [];
  pipe.onLine((l) => pending.push(`${l.task}-${l.pid} [${l.cpu}] ${l.timestamp.toFixed(6)}: ${l.message}\n`));
  const timer = setInterval(() => {
    process.stdout.write(pending.length ? pending.join('') : '.\n');
    pending = [];
  }, 1000);

  onInterrupt('minimal', async () => {
    clearInterval(timer);
    pipe.close();
    console.log(`writes seen by the program: ${skel.bss.hits}`);
    await skel.destroy();
  });
});
