/**
 * Differential oracle: load a BPF object with C libbpf (1.1 here) through the
 * helper program test/oracle/oracle.c and report what the kernel got: each
 * program's kernel tag (sha1-based, over the instructions as submitted with
 * map fds zeroed), each map's definition, optionally test-run results and map
 * contents. tsbpf's results for the same object should agree.
 *
 * The helper is compiled on first use into test/build/oracle (cached by
 * mtime; needs cc, libbpf-dev, libelf-dev, zlib1g-dev). Use
 * `oracleAvailable()` to skip a test with a named reason when it cannot be
 * built or when bpf() is not usable.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ORACLE_SRC = path.join(REPO_ROOT, 'test', 'oracle', 'oracle.c');
export const ORACLE_BIN = path.join(REPO_ROOT, 'test', 'build', 'oracle');
/** Directory of the committed BPF objects. */
export const BPF_DIR = path.join(REPO_ROOT, 'bpf');

export interface OracleOptions {
  /** Program names, or section-name prefixes, not to load (autoload off). */
  skip?: string[];
  /** Load only these programs (by name). */
  only?: string[];
  /** Maps to leave out (bpf_map__set_autocreate(map, false)). */
  noCreate?: string[];
  /** Pin root for LIBBPF_PIN_BY_NAME maps (must be a bpffs mount). */
  pinRoot?: string;
  /** Keep maps pinned by this run (default: unpinned before exit). */
  keepPins?: boolean;
  /** libbpf debug output into `log`. */
  verbose?: boolean;
  /** Programs to run once each with BPF_PROG_TEST_RUN after loading. */
  run?: string[];
  /** Packet for packet programs (xdp, tc, ...); default 64 zero bytes. */
  data?: Uint8Array;
  /** ctx_in for non-packet programs (e.g. SEC("syscall")). */
  ctx?: Uint8Array;
  /** Dump array and hash maps (global data included) after the runs. */
  dump?: boolean;
  /** Milliseconds before the helper is killed (default 60 s). */
  timeoutMs?: number;
}

export interface OracleProg {
  name: string;
  section: string;
  /** enum bpf_prog_type */
  type: number;
  /** enum bpf_attach_type */
  expectedAttachType: number;
  loaded: boolean;
  /** 16 hex digits (bpf_prog_info.tag) when loaded */
  tag?: string;
  id?: number;
  /** instructions after the verifier's rewrites */
  xlatedInsns?: number;
  /** instructions libbpf submitted (after its relocations) */
  insns?: number;
}

export interface OracleMap {
  name: string;
  /** enum bpf_map_type */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  pinPath?: string;
  id?: number;
  /** name as the kernel stores it (truncated to 15 chars) */
  kernelName?: string;
}

export interface OracleRun {
  name: string;
  retval: number;
  /** 0 on success, else the errno of BPF_PROG_TEST_RUN */
  errno: number;
}

export interface OracleDump {
  name: string;
  /** array maps: value per key 0..n-1 (null when the lookup failed) */
  values?: (Buffer | null)[];
  /** hash maps: [key, value] pairs */
  entries?: [Buffer, Buffer][];
}

export interface OracleResult {
  /** true when libbpf loaded the object */
  ok: boolean;
  exitCode: number;
  progs: OracleProg[];
  maps: OracleMap[];
  runs: OracleRun[];
  dumps: OracleDump[];
  /** open/load failure as libbpf reported it */
  error?: { stage: 'open' | 'load'; errno: number; message: string };
  /** libbpf's stderr output (warnings, verifier log on failure) */
  log: string;
}

export class OracleError extends Error {
  constructor(
    message: string,
    readonly result?: OracleResult,
  ) {
    super(message);
    this.name = 'OracleError';
  }
}

let built = false;

/**
 * Compile test/oracle/oracle.c into test/build/oracle unless the binary is
 * newer than the source. Safe against concurrent callers (atomic rename).
 * Returns the binary's path.
 */
export function buildOracle(): string {
  if (built && existsSync(ORACLE_BIN)) return ORACLE_BIN;
  const srcTime = statSync(ORACLE_SRC).mtimeMs;
  if (!existsSync(ORACLE_BIN) || statSync(ORACLE_BIN).mtimeMs < srcTime) {
    mkdirSync(path.dirname(ORACLE_BIN), { recursive: true });
    const tmp = `${ORACLE_BIN}.${process.pid}.${Date.now()}.tmp`;
    try {
      execFileSync('cc', ['-O2', '-Wall', '-o', tmp, ORACLE_SRC, '-lbpf', '-lelf', '-lz'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      renameSync(tmp, ORACLE_BIN);
    } catch (e) {
      rmSync(tmp, { force: true });
      const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new OracleError(
        `cannot build the libbpf oracle (needs cc, libbpf-dev, libelf-dev, zlib1g-dev): ${stderr || String(e)}`,
      );
    }
  }
  built = true;
  return ORACLE_BIN;
}

let availability: { ok: boolean; reason?: string } | undefined;

/**
 * Whether the oracle can be built and can load a trivial object here.
 * `reason` names what is missing, for `it.skipIf(...)` messages.
 */
export function oracleAvailable(): { ok: boolean; reason?: string } {
  if (availability) return availability;
  try {
    buildOracle();
  } catch (e) {
    return (availability = { ok: false, reason: (e as Error).message });
  }
  const probe = oracleLoadSync(path.join(BPF_DIR, 'minimal.bpf.o'));
  availability = probe.ok
    ? { ok: true }
    : { ok: false, reason: `libbpf cannot load bpf/minimal.bpf.o here: ${probe.error?.message ?? probe.log}` };
  return availability;
}

function resolveObj(objPath: string): string {
  return path.isAbsolute(objPath) ? objPath : path.resolve(REPO_ROOT, objPath);
}

function toArgs(objPath: string, opts: OracleOptions): string[] {
  const args: string[] = [];
  for (const s of opts.skip ?? []) args.push('--skip', s);
  for (const s of opts.only ?? []) args.push('--only', s);
  for (const m of opts.noCreate ?? []) args.push('--no-create', m);
  if (opts.pinRoot) args.push('--pin-root', opts.pinRoot);
  if (opts.keepPins) args.push('--keep-pins');
  if (opts.verbose) args.push('--verbose');
  for (const r of opts.run ?? []) args.push('--run', r);
  if (opts.data) args.push('--data', Buffer.from(opts.data).toString('hex'));
  if (opts.ctx) args.push('--ctx', Buffer.from(opts.ctx).toString('hex'));
  if (opts.dump) args.push('--dump');
  args.push(resolveObj(objPath));
  return args;
}

function hex(s: string | null): Buffer | null {
  return s === null ? null : Buffer.from(s, 'hex');
}

/** Parse the helper's JSON lines. Exported for tests of the parser itself. */
export function parseOracleOutput(stdout: string, stderr: string, exitCode: number): OracleResult {
  const res: OracleResult = { ok: exitCode === 0, exitCode, progs: [], maps: [], runs: [], dumps: [], log: stderr };
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line) as Record<string, any>;
    switch (j.kind) {
      case 'prog':
        res.progs.push({
          name: j.name,
          section: j.section,
          type: j.type,
          expectedAttachType: j.expected_attach_type,
          loaded: j.loaded,
          tag: j.tag,
          id: j.id,
          xlatedInsns: j.xlated_insns,
          insns: j.insns,
        });
        break;
      case 'map':
        res.maps.push({
          name: j.name,
          type: j.type,
          keySize: j.key_size,
          valueSize: j.value_size,
          maxEntries: j.max_entries,
          flags: j.flags,
          pinPath: j.pin_path,
          id: j.id,
          kernelName: j.kernel_name,
        });
        break;
      case 'run':
        res.runs.push({ name: j.name, retval: j.retval ?? 0, errno: j.errno });
        break;
      case 'dump':
        res.dumps.push({
          name: j.name,
          values: j.values?.map((v: string | null) => hex(v)),
          entries: j.entries?.map(([k, v]: [string, string]) => [hex(k)!, hex(v)!]),
        });
        break;
      case 'error':
        res.error = { stage: j.stage, errno: j.errno, message: j.message };
        break;
    }
  }
  return res;
}

/** Load `objPath` (absolute, or relative to the repo root) with C libbpf. */
export function oracleLoadSync(objPath: string, opts: OracleOptions = {}): OracleResult {
  const bin = buildOracle();
  const r = spawnSync(bin, toArgs(objPath, opts), {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new OracleError(`oracle failed to run on ${objPath}: ${r.error.message}`);
  if (r.status === 1) throw new OracleError(`oracle usage error: ${r.stderr}`);
  return parseOracleOutput(r.stdout, r.stderr, r.status ?? -1);
}

/** Async twin of oracleLoadSync. */
export function oracleLoad(objPath: string, opts: OracleOptions = {}): Promise<OracleResult> {
  const bin = buildOracle();
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      toArgs(objPath, opts),
      { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (err && typeof err.code !== 'number') {
          reject(new OracleError(`oracle failed to run on ${objPath}: ${err.message}`));
          return;
        }
        if (code === 1) {
          reject(new OracleError(`oracle usage error: ${stderr}`));
          return;
        }
        try {
          resolve(parseOracleOutput(stdout, stderr, code));
        } catch (e) {
          reject(e);
        }
      },
    );
  });
}

function tagsOf(objPath: string, res: OracleResult): Record<string, string> {
  if (!res.ok) {
    throw new OracleError(
      `libbpf failed to ${res.error?.stage ?? 'load'} ${objPath}: ${res.error?.message ?? 'exit ' + res.exitCode}\n${res.log}`,
      res,
    );
  }
  const tags: Record<string, string> = {};
  for (const p of res.progs) if (p.loaded && p.tag) tags[p.name] = p.tag;
  return tags;
}

/**
 * Kernel tags of the programs libbpf loaded from `objPath`, by program name
 * (programs skipped with `skip`/`only` are absent). Throws OracleError (with
 * libbpf's log) when libbpf cannot open or load the object.
 */
export function oracleTagsSync(objPath: string, opts: OracleOptions = {}): Record<string, string> {
  return tagsOf(objPath, oracleLoadSync(objPath, opts));
}

export async function oracleTags(objPath: string, opts: OracleOptions = {}): Promise<Record<string, string>> {
  return tagsOf(objPath, await oracleLoad(objPath, opts));
}
