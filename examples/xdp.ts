// xdp: packets arriving on an interface, counted per IP protocol by an XDP
// program (a per-CPU array indexed by protocol number), printed every second.
//
//   npx tsx examples/xdp.ts -i eth0 [-m generic|native]    (as root; Ctrl-C to stop)
import { readFileSync } from 'node:fs';
import { attachXdp } from 'tsbpf';
import { XdpProto } from '../bpf/skel/xdp_proto.skel.ts';
import { flag, helpIfAsked, onInterrupt, requireRoot, run } from './common.ts';

const argv = process.argv.slice(2);
helpIfAsked(argv, `
usage: xdp -i INTERFACE [-m auto|generic|native] [-c COUNT]
  Count packets arriving on INTERFACE per IP protocol (every packet passes).
  -m MODE   XDP mode (default auto: native when the driver has it)
  -c COUNT  exit after COUNT reports`);

/** Protocol names from /etc/protocols (numbers where it is missing). */
function protocolNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync('/etc/protocols', 'utf8').split('\n')) {
      const [name, num] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (name && num && !names.has(Number(num))) names.set(Number(num), name);
    }
  } catch {
    // numbers only
  }
  return names;
}

run('xdp', () => {
  const iface = flag(argv, '-i');
  const mode = (flag(argv, '-m') ?? 'auto') as 'auto' | 'generic' | 'native';
  const reports = Number(flag(argv, '-c') ?? Infinity);
  if (!iface) throw new Error('-i INTERFACE is required (try --help)');
  requireRoot('xdp');

  const skel = XdpProto.openAndLoad();
  skel.adoptLink('xdp_count', attachXdp(skel.progs.xdp_count.prog!, iface, { mode }));
  console.log(`xdp: counting packets on ${iface}; Ctrl-C to stop`);

  const names = protocolNames();
  let n = 0;
  const timer = setInterval(() => {
    const rows = skel.maps.counts.lookupBatchPerCpu()
      .map(([proto, perCpu]) => [proto, perCpu.reduce((a, b) => a + b, 0n)] as const)
      .filter(([, c]) => c > 0n);
    console.log(`[${new Date().toTimeString().slice(0, 8)}] ${rows.map(([p, c]) => `${names.get(p) ?? p}=${c}`).join(' ') || 'no IP packets'}; non-IP=${skel.bss.non_ip}`);
    if (++n >= reports) process.kill(process.pid, 'SIGINT');
  }, 1000);
  onInterrupt('xdp', async () => {
    clearInterval(timer);
    await skel.destroy();
  });
});
