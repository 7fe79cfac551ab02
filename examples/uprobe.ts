// uprobe: a user function's entry (its first two arguments) and return (its
// value), from a uprobe and a uretprobe, delivered as typed ring buffer
// records.
//
//   npx tsx examples/uprobe.ts                         bash's readline (type in a bash)
//   npx tsx examples/uprobe.ts -b ./prog -f my_func    any function of any binary
import { attachUprobe } from 'tsbpf';
import { probe_kind, Uprobe } from '../bpf/skel/uprobe.skel.ts';
import { flag, helpIfAsked, onInterrupt, requireRoot, run } from './common.ts';

const argv = process.argv.slice(2);
helpIfAsked(argv, `
usage: uprobe [-b BINARY] [-f FUNCTION] [-p PID]
  Print each call of FUNCTION in BINARY (default /bin/bash, readline) with its
  first two arguments (as integers), and each return with the value.
  -p PID   only this process`);

run('uprobe', () => {
  const binary = flag(argv, '-b') ?? '/bin/bash';
  const func = flag(argv, '-f') ?? 'readline';
  const pid = flag(argv, '-p') === undefined ? undefined : Number(flag(argv, '-p'));
  requireRoot('uprobe');

  const skel = Uprobe.openAndLoad();
  skel.adoptLink('func_entry', attachUprobe(skel.progs.func_entry.prog!, binary, { symbol: func, pid }));
  skel.adoptLink('func_exit', attachUprobe(skel.progs.func_exit.prog!, binary, { symbol: func, pid, retprobe: true }));
  console.log(`uprobe: attached to ${func} in ${binary}; Ctrl-C to stop`);

  skel.maps.events.onEvent((e) => {
    if (e.kind === probe_kind.PROBE_ENTRY) console.log(`${e.comm}-${e.pid}: ${func}(${e.arg0}, ${e.arg1})`);
    else console.log(`${e.comm}-${e.pid}: ${func} returned ${e.ret}`);
  });
  onInterrupt('uprobe', () => skel.destroy());
});
