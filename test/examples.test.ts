// The examples, run as users run them: child processes on the real kernel,
// their output checked against what the test did (a process it spawned, the
// syscalls it made, a function it called, the packets it sent), then Ctrl-C
// (SIGINT): exit 0 with everything detached.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, needsRoot } from './helpers/env.ts';

const REPO = resolve(import.meta.dirname, '..');
const BUILD = join(REPO, 'test', 'build');
const EXAMPLES = ['minimal', 'bootstrap', 'hello', 'syscount', 'uprobe', 'xdp'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An example running as a child process, its output accumulated. */
class Example {
  readonly child: ChildProcess;
  out = '';
  err = '';
  constructor(name: string, args: string[] = []) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join('examples', `${name}.ts`), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
  }
  /** Wait until `cond` holds, calling `poke` (e.g. trigger an event) between checks. */
  async until(cond: () => boolean, what: string, poke?: () => void, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      if (this.child.exitCode !== null) throw new Error(`example exited ${this.child.exitCode} before ${what}\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      poke?.();
      await sleep(100);
    }
  }
  /** Ctrl-C: the exit code. */
  async interrupt(): Promise<number | null> {
    const exited = new Promise<number | null>((r) => this.child.on('exit', (c) => r(c)));
    this.child.kill('SIGINT');
    return exited;
  }
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

function buildFixture(name: string): string {
  mkdirSync(BUILD, { recursive: true });
  const out = join(BUILD, name);
  execFileSync('cc', ['-O1', '-o', out, join(REPO, 'test', 'fixtures', `${name}.c`)]);
  return out;
}

describe('every example', () => {
  it.each(EXAMPLES)('%s: --help prints its usage and exits 0', (name) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join('examples', `${name}.ts`), '--help'], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: /);
  });

  it('refuses to run without root, saying so', (ctx) => {
    if (needsRoot) return ctx.skip(needsRoot); // we need root to drop to another user
    const r = spawnSync(process.execPath, ['--import', 'tsx', join('examples', 'syscount.ts')], {
      cwd: REPO, encoding: 'utf8', uid: 65534, gid: 65534, env: { ...process.env, HOME: '/tmp', TSX_TSCONFIG_PATH: join(REPO, 'tsconfig.json') },
    });
    if (r.status !== 1 || !r.stderr.includes('needs root')) {
      // the unprivileged user may not be able to read the repo at all: then the point cannot be made here
      if (/EACCES|permission denied/i.test(r.stderr) && !r.stderr.includes('needs root')) return ctx.skip(`user 65534 cannot read the repository: ${r.stderr.split('\n')[0]}`);
    }
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('syscount: needs root');
  });
});

describe.skipIf(needsRoot)('examples on the kernel', () => {
  it('minimal: prints the bpf_printk line of its own writes, through .bss my_pid', async () => {
    const ex = new Example('minimal');
    try {
      await ex.until(() => /attached \(pid (\d+)\)/.test(ex.out), 'attach');
      const pid = Number(/attached \(pid (\d+)\)/.exec(ex.out)![1]);
      await ex.until(() => ex.out.includes(`BPF triggered from PID ${pid}.`), 'its bpf_printk line');
      expect(await ex.interrupt()).toBe(0);
      expect(ex.err).toContain('minimal: SIGINT: detached and closed');
      expect(Number(/writes seen by the program: (\d+)/.exec(ex.out)?.[1])).toBeGreaterThan(0);
    } finally {
      ex.kill();
    }
  });

  it('hello: says hello for a process we exec (kprobe, or the tracepoint where there are no kprobes)', async () => {
    const ex = new Example('hello');
    const truePath = realpathSync('/bin/true');
    const pids: number[] = [];
    try {
      await ex.until(() => ex.out.includes('hello: attached through'), 'attach');
      const noKprobes = !existsSync('/sys/bus/event_source/devices/kprobe');
      if (noKprobes) {
        expect(ex.err).toMatch(/no kprobe on execve: .*no kprobe support/);
        expect(ex.err).toContain('falling back to the tracepoint syscalls/sys_enter_execve');
        expect(ex.out).toContain('attached through a tracepoint');
      }
      // the trace pipe is the system's: other readers may take a line, so exec until ours shows
      const seen = () => ex.out.split('\n').some((l) => pids.some((p) => l.startsWith(`true-${p} `) || l.includes(`-${p} [`)) && l.includes(`execve ${truePath}`));
      await ex.until(seen, `the hello line of our ${truePath}`, () => pids.push(spawnSync(truePath).pid!));
      expect(ex.out).toMatch(new RegExp(`hello \\((kprobe|tracepoint)\\): execve ${truePath}`));
      expect(await ex.interrupt()).toBe(0);
    } finally {
      ex.kill();
    }
  });

  it('syscount: counts exactly the getpgid calls a process made, per pid and per syscall', async (ctx) => {
    if (!hasCommand('cc')) return ctx.skip('needs a C compiler (cc) to build test/fixtures/syscalls.c');
    const bin = buildFixture('syscalls');
    const N = 777;
    const target = spawn(bin, [String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let targetOut = '';
    target.stdout!.on('data', (d) => (targetOut += d));
    const ex = new Example('syscount', ['-p', String(target.pid), '-i', '1']);
    try {
      await ex.until(() => ex.out.includes(`counting process ${target.pid}`), 'attach');
      target.stdin!.write('go\n');
      await ex.until(() => targetOut.includes('done'), 'the calls');
      // x86_64 getpgid is syscall 121; the report after the calls shows the exact count
      const getpgidRow = new RegExp(`^  121\\s+${N}$`, 'm');
      await ex.until(() => getpgidRow.test(ex.out), `getpgid counted ${N} times`);
      const procRow = new RegExp(`^  ${target.pid}\\s+syscalls\\s+(\\d+)$`, 'm');
      const report = ex.out.slice(ex.out.search(getpgidRow) - 2000);
      expect(Number(procRow.exec(report)?.[1])).toBeGreaterThanOrEqual(N);
      expect(Number(/total (\d+)/.exec(ex.out.slice(ex.out.lastIndexOf('total')))?.[1])).toBeGreaterThanOrEqual(N);
      expect(await ex.interrupt()).toBe(0);
      expect(ex.err).toContain('syscount: SIGINT: detached and closed');
    } finally {
      ex.kill();
      target.stdin!.end();
      target.kill();
    }
  });

  it('uprobe: shows each call of a function with its arguments and its return value', async (ctx) => {
    if (!hasCommand('cc')) return ctx.skip('needs a C compiler (cc) to build test/fixtures/uprobe_target.c');
    const bin = buildFixture('uprobe_target');
    const ex = new Example('uprobe', ['-b', bin, '-f', 'tsbpf_add']);
    try {
      await ex.until(() => ex.out.includes('uprobe: attached to tsbpf_add'), 'attach');
      const r = spawnSync(bin, ['3'], { encoding: 'utf8' });
      expect(r.stdout.trim()).toBe(String(42 + 43 + 44));
      const p = r.pid;
      await ex.until(() => ex.out.includes(`-${p}: tsbpf_add returned 44`), 'the third return');
      for (const [a, ret] of [[40, 42], [41, 43], [42, 44]]) {
        expect(ex.out).toContain(`-${p}: tsbpf_add(${a}, 2)`);
        expect(ex.out).toContain(`-${p}: tsbpf_add returned ${ret}`);
      }
      expect(await ex.interrupt()).toBe(0);
    } finally {
      ex.kill();
    }
  });
});

const hasIp = hasCommand('ip', ['-V']);
describe.skipIf(needsRoot || !hasIp)('xdp example on a veth pair', () => {
  const PID = process.pid;
  const ns = `tsbpf_exnet_${PID}`;
  const tag = PID % 100000;
  const host = `txe${tag}a`;
  const peer = `txe${tag}b`;
  // a /30 of 10.213.0.0/16 chosen by pid (other tests use 10.211/10.212)
  const b = PID % 16384;
  const hostIp = `10.213.${b >> 6}.${(b & 63) * 4 + 1}`;
  const peerIp = `10.213.${b >> 6}.${(b & 63) * 4 + 2}`;
  const hex = (v: number) => (v & 255).toString(16).padStart(2, '0');
  const hostMac = `02:7c:${hex(PID >> 16)}:${hex(PID >> 8)}:${hex(PID)}:01`;
  const peerMac = `02:7c:${hex(PID >> 16)}:${hex(PID >> 8)}:${hex(PID)}:02`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });

  beforeAll(() => {
    ip('netns', 'add', ns);
    ip('link', 'add', host, 'address', hostMac, 'type', 'veth', 'peer', 'name', peer, 'address', peerMac);
    ip('link', 'set', peer, 'netns', ns);
    // quiet: no IPv6 (DAD, RS, MLD), no ARP (permanent neighbours)
    if (existsSync(`/proc/sys/net/ipv6/conf/${host}/disable_ipv6`)) writeFileSync(`/proc/sys/net/ipv6/conf/${host}/disable_ipv6`, '1');
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', `f=/proc/sys/net/ipv6/conf/${peer}/disable_ipv6; [ ! -e $f ] || echo 1 > $f`]);
    ip('addr', 'add', `${hostIp}/30`, 'dev', host);
    ip('-n', ns, 'addr', 'add', `${peerIp}/30`, 'dev', peer);
    ip('neigh', 'replace', peerIp, 'lladdr', peerMac, 'dev', host, 'nud', 'permanent');
    ip('-n', ns, 'neigh', 'replace', hostIp, 'lladdr', hostMac, 'dev', peer, 'nud', 'permanent');
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'link', 'set', peer, 'up');
  });

  afterAll(() => {
    try {
      ip('link', 'del', host);
    } catch {}
    try {
      ip('netns', 'del', ns);
    } catch {}
  });

  it('counts the UDP datagrams sent to the interface, and detaches on Ctrl-C', async () => {
    const N = 25;
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, hostIp, () => r()));
    const port = sock.address().port;
    const ex = new Example('xdp', ['-i', host, '-m', 'generic']);
    try {
      await ex.until(() => ex.out.includes(`counting packets on ${host}`), 'attach');
      expect(ip('link', 'show', host)).toMatch(/xdp/);
      const send = `const s=require('dgram').createSocket('udp4');let k=0;const go=()=>{if(k++<${N})s.send('tsbpf',${port},'${hostIp}',(e)=>{if(e)throw e;go()});else s.close()};go()`;
      execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', send]);
      await ex.until(() => new RegExp(`udp=${N}\\b`).test(ex.out), `udp=${N}`);
      expect(await ex.interrupt()).toBe(0);
      expect(ex.err).toContain('xdp: SIGINT: detached and closed');
      const after = ip('link', 'show', host);
      expect(after, after).not.toMatch(/xdp/);
    } finally {
      ex.kill();
      sock.close();
    }
  });
});
