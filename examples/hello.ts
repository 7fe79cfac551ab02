// hello: BCC's hello world. A kprobe on the execve syscall (ksyscall/execve)
// says hello through bpf_printk for every program started; we print the
// trace pipe. A kernel without kprobes (CONFIG_KPROBES off) gets the
// execve tracepoint instead, and we say so.
//
//   npx tsx examples/hello.ts [--tracepoint]     (as root; Ctrl-C to stop)
import { TracePipe, TsbpfError } from 'tsbpf';
import { Hello } from '../bpf/skel/hello.skel.ts';
import { helpIfAsked, onInterrupt, requireRoot, run } from './common.ts';

const argv = process.argv.slice(2);
helpIfAsked(argv, `
usage: hello [--tracepoint]
  Print a line for every execve on the system, from a kprobe on the syscall
  (falling back to the sys_enter_execve tracepoint where there are no kprobes).
  --tracepoint   use the tracepoint even where kprobes exist`);

run('hello', () => {
  requireRoot('hello');
  const skel = Hello.openAndLoad();
  let how = 'kprobe (ksyscall/execve)';
  try {
    if (argv.includes('--tracepoint')) throw new TsbpfError('--tracepoint given');
    skel.attachProgram('hello_kprobe');
  } catch (err) {
    const why = err instanceof TsbpfError ? err.message : String(err);
    console.error(`hello: no kprobe on execve: ${why}`);
    console.error('hello: falling back to the tracepoint syscalls/sys_enter_execve');
    skel.attachProgram('hello_tp', { mount: true });
    how = 'tracepoint (syscalls/sys_enter_execve)';
  }
  const pipe = TracePipe.open({ mount: true });
  console.log(`hello: attached through a ${how}. Ctrl-C to stop.`);
  pipe.onLine((l) => {
    if (l.message.startsWith('hello (')) console.log(`${l.task}-${l.pid} [${l.cpu}] ${l.message}`);
  });
  onInterrupt('hello', async () => {
    pipe.close();
    await skel.destroy();
  });
});
