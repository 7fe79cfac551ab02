// npm run test:vm [-- [--kernel 6.1|6.12|all] [--shell CMD] [--keep] [--verbose] [vitest args...]]
//
// Boots each Debian bookworm kernel of the matrix (6.1, 6.12) under QEMU
// (microvm, TCG unless the CPU has real VT-x/AMD-V) in turn, shares the host
// root read-only over 9p and runs the VM test suite (test/vm/suite) chrooted
// into it. The guest's stdout and stderr come back on two virtio serial
// ports, its exit status through a scratch 9p share; the first failing
// guest's status becomes ours. See test/vm/README.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VM_FIXTURES, fixtureBinary } from '../helpers/fixtures.ts';
import { buildInitramfs } from './initramfs.ts';
import { KERNELS, kernelById, prepareKernel, type KernelArtifacts, type KernelSpec } from './kernel.ts';
import { hostTscKhz, pickAccel, qemuArgs, type QemuConfig } from './qemu.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const GUEST_SCRATCH = '/tmp/tsbpf-vm'; // where the scratch share appears inside the chroot
const EXIT_TIMEOUT = 124;
const EXIT_GUEST_FAILED = 125;
const QEMU_WRAPPER = `exec 3<&0
"$@" </dev/null & q=$!
{ cat <&3 >/dev/null; kill -9 $q 2>/dev/null; } & w=$!
wait $q; rc=$?
kill $w 2>/dev/null
exit $rc`;

const USAGE = `usage: npm run test:vm -- [options] [vitest args...]
  --kernel K    ${KERNELS.map((k) => k.id).join('|')}|all (default all; repeatable): the guests to boot, one after another
  --shell CMD   run CMD (sh syntax, cwd = repo) in the guest instead of the VM suite
  --prepare     only download and unpack the kernel into the cache, then exit
  --keep        keep the temp dir (console log, scratch share) and print its path
  --verbose     copy the guest's kernel console to stderr as it arrives
  --timeout S   timeout per guest in seconds (default: $TSBPF_VM_TIMEOUT or 900)
  -h, --help    this text
env: TSBPF_VM_TIMEOUT (seconds), TSBPF_VM_ACCEL=tcg|kvm, TSBPF_VM_MEMORY (2G), TSBPF_VM_SMP (2),
     TSBPF_VM_CACHE (default <repo>/.cache/vm). DEBUG, FORCE_COLOR, NO_COLOR, CI and TSBPF_* are passed to the guest.
exit status: the guest command's; ${EXIT_TIMEOUT} on timeout; ${EXIT_GUEST_FAILED} when the guest died before reporting one.`;

interface Options {
  kernels: KernelSpec[];
  shell?: string;
  prepare: boolean;
  keep: boolean;
  verbose: boolean;
  timeoutSec: number;
  vitestArgs: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { kernels: [], prepare: false, keep: false, verbose: false, timeoutSec: Number(process.env.TSBPF_VM_TIMEOUT ?? 900), vitestArgs: [] };
  const addKernel = (id: string) => {
    for (const k of id === 'all' ? KERNELS : [kernelById(id)]) if (!o.kernels.includes(k)) o.kernels.push(k);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--kernel') addKernel(value());
    else if (a.startsWith('--kernel=')) addKernel(a.slice(9));
    else if (a === '--shell') o.shell = value();
    else if (a.startsWith('--shell=')) o.shell = a.slice(8);
    else if (a === '--keep') o.keep = true;
    else if (a === '--prepare') o.prepare = true;
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--timeout') o.timeoutSec = Number(value());
    else if (a.startsWith('--timeout=')) o.timeoutSec = Number(a.slice(10));
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else o.vitestArgs.push(a);
  }
  if (o.kernels.length === 0) o.kernels = [...KERNELS];
  if (!(o.timeoutSec > 0)) throw new Error(`bad timeout: ${o.timeoutSec}`);
  if (o.shell !== undefined && o.vitestArgs.length) throw new Error(`--shell takes no extra arguments: ${o.vitestArgs.join(' ')}`);
  return o;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The script the guest runs (inside the chroot, as root, cwd = repo). */
function commandScript(o: Options, kernel: KernelArtifacts): string {
  const cmd =
    o.shell ??
    [
      '/usr/bin/node',
      'node_modules/vitest/vitest.mjs',
      'run',
      '--config',
      'test/vm/vitest.config.ts',
      // the default "bundle" loader writes a temp file next to node_modules: the repo is read-only here
      '--configLoader',
      'runner',
      ...o.vitestArgs,
    ]
      .map(q)
      .join(' ');
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/tmp',
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    TSBPF_VM: '1',
    TSBPF_VM_SCRATCH: GUEST_SCRATCH,
    TSBPF_VM_KERNEL: kernel.spec.id,
    // modules the tests may insmod (uncompressed, with extra.load, their load order)
    TSBPF_VM_MODULES: kernel.extraDir,
  };
  // The kernel hands init TERM=linux; say what the host's stdout really is.
  env.TERM = process.stdout.isTTY ? (process.env.TERM ?? 'xterm') : 'dumb';
  if (process.stdout.isTTY && !process.env.NO_COLOR) env.FORCE_COLOR = '1';
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'TSBPF_VM_TIMEOUT' || k === 'TSBPF_VM_ACCEL' || k in env) continue;
    if (/^(DEBUG|DEBUG_.*|FORCE_COLOR|NO_COLOR|CI|TSBPF_.*)$/.test(k) && !(k in env)) env[k] = v;
  }
  return [
    `cd ${q(REPO)} || exit ${EXIT_GUEST_FAILED}`,
    ...Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}`),
    `echo "[vm] guest uname -r: $(uname -r) (guest uptime $(cut -d' ' -f1 /proc/uptime) s)"`,
    cmd,
    '',
  ].join('\n');
}

/** A one-connection unix socket server that copies what qemu sends to `sink`. */
function portServer(path: string, sink: NodeJS.WritableStream, onData: () => void): { server: Server; ended: Promise<void> } {
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const server = createServer((sock: Socket) => {
    sock.on('data', (d) => {
      onData();
      sink.write(d);
    });
    sock.on('close', () => resolveEnded());
    sock.on('error', () => resolveEnded());
    server.close();
  });
  server.listen(path);
  return { server, ended };
}

/** Removes temp dirs left by runs that were SIGKILLed (their owner pid is gone). */
function sweepStaleTempDirs(log: (m: string) => void): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('tsbpf-vm-')) continue;
    const dir = join(tmpdir(), name);
    let pid: number;
    try {
      pid = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // being created, or not ours
    }
    try {
      process.kill(pid, 0);
      continue; // still running
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    log(`removing stale ${dir} (run ${pid} is gone)`);
    rmSync(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console log)';
  }
}

const log = (msg: string) => process.stderr.write(`[vm] ${msg}\n`);

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const cacheRoot = process.env.TSBPF_VM_CACHE ?? join(REPO, '.cache', 'vm');
  mkdirSync(cacheRoot, { recursive: true });
  const kernels = o.kernels.map((k) => prepareKernel(cacheRoot, k));
  if (o.prepare) {
    for (const k of kernels) log(`kernel ${k.spec.id} ready: ${k.vmlinux}`);
    return 0;
  }
  // the C programs the suite runs: built here, where cc is fast and the repo writable
  for (const f of VM_FIXTURES) fixtureBinary(f);
  const results: { id: string; rc: number; secs: number }[] = [];
  for (const k of kernels) {
    const t = performance.now();
    log(`== guest ${k.spec.id} (${k.release}) ==`);
    const rc = await runGuest(o, k);
    results.push({ id: k.spec.id, rc, secs: (performance.now() - t) / 1000 });
  }
  if (results.length > 1) {
    log(`guests: ${results.map((r) => `${r.id} exit ${r.rc} in ${r.secs.toFixed(1)} s`).join(', ')}`);
  }
  return results.find((r) => r.rc !== 0)?.rc ?? 0;
}

/** Boots one guest, runs the command in it; resolves to its exit status. */
async function runGuest(o: Options, kernel: KernelArtifacts): Promise<number> {
  const t0 = performance.now();
  const secs = (t: number) => ((t - t0) / 1000).toFixed(2);
  const initramfs = buildInitramfs(kernel, join(HERE, 'init.sh'), { msize: 512000, rootCache: 'cache=loose' });
  const { accel, why } = pickAccel(process.env.TSBPF_VM_ACCEL);

  sweepStaleTempDirs(log);
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-vm-'));
  writeFileSync(join(tmp, 'owner.pid'), String(process.pid));
  const scratch = join(tmp, 'scratch');
  mkdirSync(scratch);
  chmodSync(scratch, 0o1777);
  writeFileSync(join(scratch, 'cmd.sh'), commandScript(o, kernel));
  // init.sh keeps a repo that lives under /tmp visible through the guest's own tmpfs /tmp.
  writeFileSync(join(scratch, 'repo'), REPO);
  const cfg: QemuConfig = {
    accel,
    cpu: process.env.TSBPF_VM_CPU,
    vmlinux: kernel.vmlinux,
    initramfs,
    memory: process.env.TSBPF_VM_MEMORY ?? '2G',
    smp: Number(process.env.TSBPF_VM_SMP ?? 2),
    tscKhz: accel === 'tcg' ? hostTscKhz() : undefined,
    scratchDir: scratch,
    consoleLog: join(tmp, 'console.log'),
    outSocket: join(tmp, 'out.sock'),
    errSocket: join(tmp, 'err.sock'),
    verbose: o.verbose,
  };

  let qemu: ChildProcess | undefined;
  const killQemu = () => {
    if (!qemu?.pid || qemu.exitCode !== null || qemu.signalCode !== null) return;
    try {
      process.kill(-qemu.pid, 'SIGKILL'); // our own process group: sh, qemu, cat
    } catch {}
  };
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    killQemu();
    if (o.keep) {
      rmSync(join(tmp, 'owner.pid'), { force: true }); // so later runs do not sweep it
      log(`kept ${tmp}`);
    }
    else rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping qemu`);
    cleanup();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  process.on('exit', cleanup);
  for (const sig of signals) process.on(sig, onSignal);

  let tBoot: number | undefined;
  const firstOutput = () => (tBoot ??= performance.now());
  const out = portServer(cfg.outSocket, process.stdout, firstOutput);
  const err = portServer(cfg.errSocket, process.stderr, firstOutput);
  await Promise.all([out.server, err.server].map((s) => new Promise((r) => s.once('listening', r))));

  log(
    `kernel ${kernel.spec.id} (${kernel.release}), accel ${accel} (${why}), ${cfg.smp} vCPU, ${cfg.memory}` +
      (cfg.tscKhz ? `, tsc_early_khz=${cfg.tscKhz}` : '') +
      `, timeout ${o.timeoutSec} s; running: ${o.shell ?? 'VM suite (test/vm/suite)'}`,
  );
  const tLaunch = performance.now();
  // qemu runs under a small sh in its own process group: we kill the whole
  // group on timeout, and the sh kills qemu when our end of its stdin closes
  // (i.e. when this process dies, even by SIGKILL), so no qemu outlives us.
  qemu = spawn('/bin/sh', ['-c', QEMU_WRAPPER, 'tsbpf-vm-qemu', 'qemu-system-x86_64', ...qemuArgs(cfg)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let qemuOutput = '';
  qemu.stdout!.on('data', (d) => (qemuOutput += d));
  qemu.stderr!.on('data', (d) => (qemuOutput += d));

  let consolePos = 0;
  const consoleTimer = o.verbose
    ? setInterval(() => {
        try {
          const buf = readFileSync(cfg.consoleLog);
          if (buf.length > consolePos) process.stderr.write(buf.subarray(consolePos));
          consolePos = buf.length;
        } catch {}
      }, 200)
    : undefined;

  let timedOut = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    qemu!.on('exit', (code, signal) => r({ code, signal }));
    qemu!.on('error', (e) => {
      qemuOutput += `spawn failed: ${e.message}\n`;
      r({ code: null, signal: null });
    });
  });
  const timer = setTimeout(() => {
    timedOut = true;
    killQemu();
  }, o.timeoutSec * 1000);
  const { code, signal } = await exited;
  clearTimeout(timer);
  // qemu is gone: its sockets are closed, flush what is still buffered.
  await Promise.race([Promise.all([out.ended, err.ended]), sleep(2000)]);
  if (consoleTimer) clearInterval(consoleTimer);
  for (const s of [out.server, err.server]) s.close();

  const tEnd = performance.now();
  const exitFile = join(scratch, 'exitcode');
  const guestRc = existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8').trim()) : undefined;
  const timing = `boot ${tBoot ? ((tBoot - tLaunch) / 1000).toFixed(2) : '?'} s (qemu launch to first guest output), ` +
    `qemu ${((tEnd - tLaunch) / 1000).toFixed(2)} s, total ${secs(tEnd)} s`;

  let rc: number;
  if (timedOut) {
    log(`TIMEOUT: the guest did not finish within ${o.timeoutSec} s (hang?); qemu killed. ${timing}`);
    log(`last kernel console lines:\n${tail(cfg.consoleLog, 40)}`);
    rc = EXIT_TIMEOUT;
  } else if (guestRc === undefined || Number.isNaN(guestRc)) {
    log(`the guest exited without reporting a status (qemu ${signal ?? `exit ${code}`}). ${timing}`);
    if (qemuOutput.trim()) log(`qemu said:\n${qemuOutput.trim()}`);
    log(`last kernel console lines:\n${tail(cfg.consoleLog, 60)}`);
    rc = EXIT_GUEST_FAILED;
  } else {
    if (qemuOutput.trim()) log(`qemu said: ${qemuOutput.trim()}`);
    if (guestRc === EXIT_GUEST_FAILED) log(`guest setup failed; console:\n${tail(cfg.consoleLog, 40)}`);
    log(`guest exit status ${guestRc}; ${timing}`);
    rc = guestRc;
  }
  cleanup();
  process.off('exit', cleanup);
  for (const sig of signals) process.off(sig, onSignal);
  return rc;
}

main().then(
  (rc) => process.exit(rc),
  (e: unknown) => {
    process.stderr.write(`[vm] error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(EXIT_GUEST_FAILED);
  },
);
