// tcx and cgroup attachments on the real kernel, counted with real packets.
//
// tcx: bpf/attach.bpf.o's tc_count (SEC("tc"), counts into .bss counts[13])
// on one end of a veth pair whose other end lives in a test network
// namespace. The pair is made quiet so that the counts are exact: IPv6 off on
// both ends (no DAD, router solicitations or MLD reports) and permanent
// neighbour entries with fixed MACs (no ARP). What crosses the veth is then
// only the UDP datagrams the test sends, plus the ICMP port-unreachable
// replies of the side that has no listener, which always travel in the
// direction the test does not count.
//
// cgroup: a hand-assembled BPF_PROG_TYPE_CGROUP_SKB egress program (returns
// 1 = allow; counters[0] += 1, counters[1] += skb->len) on a fresh cgroup v2
// directory; a child moves itself into the cgroup, then sends N UDP
// datagrams to a listener of ours on 127.0.0.1. Each datagram passes the
// egress hook once (ip_finish_output), nothing else that child does sends a
// packet, and our own sends (outside the cgroup) must not be counted.
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, writeFileSync, constants } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfCmd, getFdById } from '../src/syscall/index.ts';
import { BPF_W, BpfAttachType, BpfProgType, Program, asm, encodeInsns } from '../src/prog/index.ts';
import { BpfObject } from '../src/object/index.ts';
import { attachCgroup, attachTcx, type Link } from '../src/attach/index.ts';
import { fdCount, hasKernelBtf, needsRoot, hasCommand } from './helpers/env.ts';
import { Counters, countInsns } from './attach_helpers.ts';

const REPO = resolve(import.meta.dirname, '..');
const PID = process.pid;
const SLOT_TC = 13;

const hasIp = hasCommand('ip', ['-V']);

/** tcx links need Linux 6.6. */
const tcxMissing = (() => {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m) return undefined;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > 6 || (maj === 6 && min >= 6) ? undefined : `tcx links need Linux 6.6+, this is ${release()}`;
})();

/** Where the cgroup v2 (unified) hierarchy is mounted, from /proc/self/mounts. */
const cgroup2Mount = (() => {
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f[2] === 'cgroup2' && existsSync(join(f[1]!, 'cgroup.procs'))) return f[1]!.replace(/\\040/g, ' ');
    }
  } catch {}
  return undefined;
})();

const tcxSkip = needsRoot ?? (!hasIp ? 'needs iproute2 (`ip`) to create a veth pair and a network namespace' : undefined) ?? (!hasKernelBtf ? 'needs /sys/kernel/btf/vmlinux to load bpf/attach.bpf.o' : undefined) ?? tcxMissing;
const cgroupSkip = needsRoot ?? (cgroup2Mount === undefined ? 'needs a cgroup v2 (unified) hierarchy: no cgroup2 mount in /proc/self/mounts' : undefined);
if (tcxSkip) console.warn(`skipping tcx tests: ${tcxSkip}`);
if (cgroupSkip) console.warn(`skipping cgroup tests: ${cgroupSkip}`);

/** Poll `cond` until it holds or `ms` pass. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A UDP listener that counts what it receives. */
async function listen(address: string): Promise<{ sock: Socket; port: number; received: () => number }> {
  const sock = createSocket('udp4');
  let n = 0;
  sock.on('message', () => n++);
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(0, address, () => res());
  });
  return { sock, port: sock.address().port, received: () => n };
}

/** Send `n` datagrams from this process, one after the other. */
async function sendFromHere(n: number, address: string, port: number, payload = 'tsbpf!!'): Promise<void> {
  const s = createSocket('udp4');
  try {
    for (let i = 0; i < n; i++) await new Promise<void>((res, rej) => s.send(payload, port, address, (e) => (e ? rej(e) : res())));
  } finally {
    s.close();
  }
}

/** Node one-liner sending `n` datagrams to address:port, one after the other. */
const senderScript = (n: number, address: string, port: number, payload = 'tsbpf!!') =>
  `const s=require('dgram').createSocket('udp4');let k=0;const go=()=>{if(k++<${n})s.send(${JSON.stringify(payload)},${port},${JSON.stringify(address)},(e)=>{if(e)throw e;go()});else s.close()};go()`;

/** Is the link id still alive? (Opens and closes a fd on it if so.) */
function linkIdExists(id: number): boolean {
  try {
    getFdById(BpfCmd.BPF_LINK_GET_FD_BY_ID, id).close();
    return true;
  } catch (e) {
    if (/ENOENT|No such file/.test((e as Error).message)) return false;
    throw e;
  }
}

// ---------------------------------------------------------------- tcx

describe.skipIf(tcxSkip)('tcx: tc_count on a veth, packets from a test network namespace', () => {
  const ns = `tsbpf_tcx_${PID}`;
  const tag = PID % 100000;
  const host = `tst${tag}a`;
  const peer = `tst${tag}b`;
  // a /30 of 10.212.0.0/16 chosen by pid, so concurrent runs do not collide (the XDP test uses 10.211.77.0/30)
  const b = PID % 16384;
  const hostIp = `10.212.${b >> 6}.${(b & 63) * 4 + 1}`;
  const peerIp = `10.212.${b >> 6}.${(b & 63) * 4 + 2}`;
  const hex = (v: number) => (v & 255).toString(16).padStart(2, '0');
  const hostMac = `02:7b:${hex(PID >> 16)}:${hex(PID >> 8)}:${hex(PID)}:01`;
  const peerMac = `02:7b:${hex(PID >> 16)}:${hex(PID >> 8)}:${hex(PID)}:02`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  const inNs = (...cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'pipe' });
  /** n datagrams from the namespace to the host end */
  const sendFromNs = (n: number, port: number) => inNs(process.execPath, '-e', senderScript(n, hostIp, port));

  let obj: BpfObject | undefined;
  let prog: { name: string; fd: number };
  let progId: number;
  let ifindex: number;
  const count = () => Buffer.from(obj!.bss.raw('counts')).readBigUInt64LE(SLOT_TC * 8);
  const links: Link[] = [];

  beforeAll(() => {
    ip('netns', 'add', ns);
    ip('link', 'add', host, 'address', hostMac, 'type', 'veth', 'peer', 'name', peer, 'address', peerMac);
    ip('link', 'set', peer, 'netns', ns);
    // quiet the pair: no IPv6 (DAD, RS, MLD), no ARP (permanent neighbours)
    if (existsSync(`/proc/sys/net/ipv6/conf/${host}/disable_ipv6`)) writeFileSync(`/proc/sys/net/ipv6/conf/${host}/disable_ipv6`, '1');
    inNs('sh', '-c', `f=/proc/sys/net/ipv6/conf/${peer}/disable_ipv6; [ ! -e $f ] || echo 1 > $f`);
    ip('addr', 'add', `${hostIp}/30`, 'dev', host);
    ip('-n', ns, 'addr', 'add', `${peerIp}/30`, 'dev', peer);
    ip('neigh', 'replace', peerIp, 'lladdr', peerMac, 'dev', host, 'nud', 'permanent');
    ip('-n', ns, 'neigh', 'replace', hostIp, 'lladdr', hostMac, 'dev', peer, 'nud', 'permanent');
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'link', 'set', peer, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ifindex = Number(readFileSync(`/sys/class/net/${host}/ifindex`, 'utf8'));

    obj = BpfObject.open(join(REPO, 'bpf', 'attach.bpf.o'));
    for (const p of obj.programs.values()) p.autoload = p.name === 'tc_count';
    obj.load();
    const p = obj.program('tc_count').prog;
    prog = p;
    progId = p.info().id;
  });

  afterAll(async () => {
    for (const l of links) {
      try {
        l.destroy();
      } catch {}
    }
    try {
      await obj?.destroy();
    } finally {
      // deleting our end deletes the peer too; deleting the namespace deletes the peer if it is still there
      try {
        ip('link', 'del', host);
      } catch {}
      try {
        ip('netns', 'del', ns);
      } catch {}
    }
  });

  it('ingress: counts exactly the datagrams the namespace sends us; stops counting after destroy; no fd leak', async () => {
    // Our listener means no ICMP port-unreachable replies (which would go out
    // through egress anyway, not counted here).
    const l = await listen(hostIp);
    try {
      const before = fdCount();
      const link = attachTcx(prog, host, 'ingress');
      links.push(link);
      try {
        expect(link.isBpfLink).toBe(true);
        const info = link.info();
        expect(info.typeName).toBe('BPF_LINK_TYPE_TCX');
        expect(info.ifindex).toBe(ifindex);
        expect(info.attachType).toBe(BpfAttachType.BPF_TCX_INGRESS);
        expect(info.progId).toBe(progId);

        const base = count();
        const N = 40;
        sendFromNs(N, l.port);
        // ingress runs in the receive softirq: once the listener has them all, tcx saw them all
        await until(() => l.received() >= N, `${N} datagrams at ${hostIp}:${l.port}`);
        expect(l.received()).toBe(N);
        expect(count() - base).toBe(BigInt(N));

        const id = info.id;
        link.destroy();
        expect(link.destroyed).toBe(true);
        expect(linkIdExists(id)).toBe(false);
        expect(fdCount()).toBe(before);

        const after = count();
        sendFromNs(7, l.port);
        await until(() => l.received() >= N + 7, 'the datagrams sent after detach');
        expect(count()).toBe(after);
      } finally {
        link.destroy();
      }
    } finally {
      l.sock.close();
    }
  }, 30_000);

  it('egress: counts exactly the datagrams we send to the namespace; stops counting after destroy; no fd leak', async () => {
    // The namespace has no listener: its ICMP port-unreachable replies come
    // back through our ingress, which is not attached in this test.
    const before = fdCount();
    const link = attachTcx(prog, ifindex, 'egress');
    links.push(link);
    try {
      const info = link.info();
      expect(info.typeName).toBe('BPF_LINK_TYPE_TCX');
      expect(info.ifindex).toBe(ifindex);
      expect(info.attachType).toBe(BpfAttachType.BPF_TCX_EGRESS);
      expect(info.progId).toBe(progId);

      const base = count();
      const N = 40;
      // egress runs in the sender's context (__dev_queue_xmit): counted by the time send() calls back
      await sendFromHere(N, peerIp, 9);
      expect(count() - base).toBe(BigInt(N));

      const id = info.id;
      link.destroy();
      expect(linkIdExists(id)).toBe(false);
      expect(fdCount()).toBe(before);
      const after = count();
      await sendFromHere(5, peerIp, 9);
      expect(count()).toBe(after);
    } finally {
      link.destroy();
    }
  }, 30_000);

  it('ingress and egress at once: two links on one device, each counted', async () => {
    const before = fdCount();
    const l = await listen(hostIp);
    const ingress = attachTcx(prog, host, 'ingress');
    links.push(ingress);
    const egress = attachTcx(prog, host, 'egress');
    links.push(egress);
    try {
      expect(ingress.info().id).not.toBe(egress.info().id);
      const base = count();
      sendFromNs(10, l.port); // -> ingress 10 (to our listener: no replies)
      await until(() => l.received() >= 10, 'ten datagrams from the namespace');
      expect(count() - base).toBe(10n);
      await sendFromHere(6, peerIp, 9); // -> egress 6 (+ ICMP replies into ingress, rate limited: not exact)
      expect(count() - base).toBeGreaterThanOrEqual(16n);
    } finally {
      ingress.destroy();
      egress.destroy();
      l.sock.close();
    }
    expect(fdCount()).toBe(before);
  }, 30_000);

  it('says which interface does not exist', () => {
    expect(() => attachTcx(prog, `nx${tag}zz`, 'ingress')).toThrow(`network interface nx${tag}zz does not exist in this network namespace`);
  });
});

// ---------------------------------------------------------------- cgroup

/** cgroup_skb: counters[0] += 1, counters[1] += skb->len; returns 1 (allow). */
function cgroupSkbCounter(mapFd: number, attachType: BpfAttachType, name: string): Program {
  const insns = [
    asm.mov64Reg(6, 1),
    asm.ldxMem(BPF_W, 7, 6, 0), // r7 = skb->len
    ...countInsns(mapFd, 0),
    asm.stMem(BPF_W, 10, -4, 1),
    asm.mov64Reg(2, 10),
    asm.add64Imm(2, -4),
    ...asm.ldMapFd(1, mapFd),
    asm.call(1), // bpf_map_lookup_elem
    asm.jeqImm(0, 0, 1),
    asm.atomicAdd64(0, 7, 0),
    asm.mov64Imm(0, 1),
    asm.exit(),
  ];
  return Program.load({ name, type: BpfProgType.BPF_PROG_TYPE_CGROUP_SKB, expectedAttachType: attachType, insns: encodeInsns(insns), license: 'GPL' });
}

const hasBpftool = hasCommand('bpftool', ['version']);

describe.skipIf(cgroupSkip)('cgroup: a cgroup_skb egress program on a test cgroup v2 directory', () => {
  const dir = join(cgroup2Mount ?? '/nonexistent', `tsbpf_test_${PID}`);
  const PAYLOAD = 'tsbpf!!'; // 7 bytes: skb->len at IPv4 egress = 20 (IP) + 8 (UDP) + 7
  const SKB_LEN = 20 + 8 + PAYLOAD.length;
  let counters: Counters;
  let prog: Program;
  let listener: Awaited<ReturnType<typeof listen>>;
  const links: Link[] = [];

  /** A child that moves itself into the cgroup, then sends n datagrams to our listener. */
  const sendFromCgroup = (n: number) =>
    execFileSync('sh', ['-c', `echo $$ > '${dir}/cgroup.procs' && exec "$0" -e "$1"`, process.execPath, senderScript(n, '127.0.0.1', listener.port, PAYLOAD)], {
      stdio: 'pipe',
    });
  const received = async (n: number) => until(() => listener.received() >= n, `${n} datagrams at 127.0.0.1:${listener.port}`);

  /** Program ids bpftool lists on the cgroup (attached with BPF_PROG_ATTACH or links). */
  const bpftoolIds = (): number[] => {
    const out = execFileSync('bpftool', ['-j', 'cgroup', 'show', dir], { encoding: 'utf8' }).trim();
    return out === '' ? [] : (JSON.parse(out) as { id: number }[]).map((e) => e.id); // bpftool prints nothing for an empty cgroup
  };

  function removeCgroup(): void {
    if (!existsSync(dir)) return;
    // the children have been reaped, but the cgroup may take a moment to be empty
    for (let i = 0; ; i++) {
      try {
        rmdirSync(dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || i >= 100) throw e;
        execFileSync('sleep', ['0.02']);
      }
    }
  }

  beforeAll(async () => {
    mkdirSync(dir);
    counters = new Counters(2);
    prog = cgroupSkbCounter(counters.fd.value, BpfAttachType.BPF_CGROUP_INET_EGRESS, 'cg_skb_count');
    listener = await listen('127.0.0.1');
  });

  afterAll(() => {
    for (const l of links) {
      try {
        l.destroy();
      } catch {}
    }
    listener?.sock.close();
    prog?.close();
    counters?.close();
    removeCgroup();
  });

  it('BPF link: counts exactly the child\'s datagrams, not ours; stops after destroy; no fd leak', async () => {
    counters.reset();
    const before = fdCount();
    const link = attachCgroup(prog, dir, BpfAttachType.BPF_CGROUP_INET_EGRESS);
    links.push(link);
    try {
      expect(link.isBpfLink).toBe(true);
      expect(link.constructor.name).toBe('CgroupLink');
      const info = link.info();
      expect(info.typeName).toBe('BPF_LINK_TYPE_CGROUP');
      expect(info.cgroupId).toBe(statSync(dir, { bigint: true }).ino); // cgroup id = kernfs inode number
      expect(info.attachType).toBe(BpfAttachType.BPF_CGROUP_INET_EGRESS);
      expect(info.progId).toBe(prog.info().id);
      if (hasBpftool) expect(bpftoolIds()).toEqual([prog.info().id]);

      const N = 25;
      sendFromCgroup(N);
      await received(N);
      expect(counters.get(0)).toBe(BigInt(N));
      expect(counters.get(1)).toBe(BigInt(N * SKB_LEN));

      // this process is not in the cgroup: its datagrams pass unseen
      await sendFromHere(5, '127.0.0.1', listener.port, PAYLOAD);
      await received(N + 5);
      expect(counters.get(0)).toBe(BigInt(N));

      const id = info.id;
      link.destroy();
      expect(linkIdExists(id)).toBe(false);
      expect(fdCount()).toBe(before);
      if (hasBpftool) expect(bpftoolIds()).toEqual([]);

      sendFromCgroup(4);
      await received(N + 9);
      expect(counters.get(0)).toBe(BigInt(N));
    } finally {
      link.destroy();
    }
  }, 30_000);

  it('BPF link on a cgroup fd we keep: the fd stays ours and open', async () => {
    counters.reset();
    const cg = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const before = fdCount();
      const link = attachCgroup(prog, cg, BpfAttachType.BPF_CGROUP_INET_EGRESS);
      links.push(link);
      const start = listener.received();
      try {
        expect(link.info().cgroupId).toBe(statSync(dir, { bigint: true }).ino);
        sendFromCgroup(3);
        await received(start + 3);
        expect(counters.get(0)).toBe(3n);
      } finally {
        link.destroy();
      }
      expect(fdCount()).toBe(before);
      expect(statSync(`/proc/self/fd/${cg}`).isDirectory()).toBe(true);
    } finally {
      closeSync(cg);
    }
  }, 30_000);

  it('legacy BPF_PROG_ATTACH ({legacy: true}): counts the same, detaches on destroy', async () => {
    counters.reset();
    const before = fdCount();
    const link = attachCgroup(prog, dir, BpfAttachType.BPF_CGROUP_INET_EGRESS, { legacy: true });
    links.push(link);
    const start = listener.received();
    try {
      expect(link.isBpfLink).toBe(false);
      expect(link.constructor.name).toBe('ProgAttachLink');
      expect(() => link.info()).toThrow(/not a BPF link/);
      if (hasBpftool) expect(bpftoolIds()).toEqual([prog.info().id]);

      const N = 17;
      sendFromCgroup(N);
      await received(start + N);
      expect(counters.get(0)).toBe(BigInt(N));
      expect(counters.get(1)).toBe(BigInt(N * SKB_LEN));

      link.destroy();
      expect(fdCount()).toBe(before);
      if (hasBpftool) expect(bpftoolIds()).toEqual([]);
      sendFromCgroup(3);
      await received(start + N + 3);
      expect(counters.get(0)).toBe(BigInt(N));
    } finally {
      link.destroy();
    }
  }, 30_000);

  it('legacy attach: the program can be closed before the link and destroy still detaches it', async () => {
    const before = fdCount();
    const own = cgroupSkbCounter(counters.fd.value, BpfAttachType.BPF_CGROUP_INET_EGRESS, 'cg_skb_early');
    const id = own.info().id;
    const link = attachCgroup(own, dir, BpfAttachType.BPF_CGROUP_INET_EGRESS, { legacy: true });
    links.push(link);
    if (hasBpftool) expect(bpftoolIds()).toEqual([id]);
    own.close(); // the link holds its own duplicate of the program fd for the detach
    link.destroy();
    if (hasBpftool) expect(bpftoolIds()).toEqual([]);
    expect(fdCount()).toBe(before);
  });

  it('the test cgroup can be removed once every attachment is gone', () => {
    removeCgroup();
    expect(existsSync(dir)).toBe(false);
  });
});
