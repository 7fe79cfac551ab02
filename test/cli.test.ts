// The `tsbpf` command, run as a child process from dist/ (plain node, as
// installed): every subcommand, human and --json output, checked against the
// parsed spec, against bpftool / llvm-objdump where they say the same thing,
// and against what the kernel holds.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDist } from '../scripts/build.ts';
import { bpffsPath } from '../src/attach/tracefs.ts';
import { findMember, type BtfComposite } from '../src/btf/index.ts';
import { BpfObject, parseObject, objectNameOf } from '../src/object/index.ts';
import { formatLog2Hist, formatLinearHist } from '../src/report/hist.ts';
import { hasCommand, isRoot, kernelRefusal, needsRoot } from './helpers/env.ts';

const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'dist', 'cli.cjs');
const BPF = join(REPO, 'bpf');
const OBJECTS = readdirSync(BPF).filter((f) => f.endsWith('.bpf.o')).sort();

interface Run { status: number | null; stdout: string; stderr: string }

function tsbpf(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, DEBUG: '', ...env }, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T = any>(args: string[]): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = tsbpf([...args, '--json']);
  if (r.status !== 0) throw new Error(`tsbpf ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A failure: exit code 1 or 2, exactly one line on stderr, no stack trace. */
function expectOneLineError(r: Run, code: 1 | 2, pattern: RegExp): void {
  expect(r.status).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  await writeDist();
});

describe('tsbpf: the command line', () => {
  it('--help for the command and every subcommand, exit 0; no command is a usage error', () => {
    const top = tsbpf(['--help']);
    expect(top.status).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]);
    expect(commands).toEqual(['inspect', 'prog', 'map', 'link', 'btf', 'gen', 'run', 'trace', 'feature']);
    for (const c of commands) {
      const r = tsbpf([c!, '--help']);
      expect(r.status, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^Usage: tsbpf ${c}`));
      expect(r.stdout, c).toMatch(/-h, --help/);
    }
    expect(tsbpf([]).status).toBe(2);
    expectOneLineError(tsbpf(['frobnicate']), 2, /unknown command "frobnicate"/);
    expectOneLineError(tsbpf(['inspect', '--frob', 'x']), 2, /^tsbpf inspect: Unknown option '--frob'/);
    expectOneLineError(tsbpf(['prog', 'show']), 2, /needs an ID/);
    expectOneLineError(tsbpf(['prog', 'show', 'x1']), 2, /ID must be a non-negative integer, got "x1"/);
    expectOneLineError(tsbpf(['btf', 'dump', '--format', 'rust']), 2, /--format must be c, ts or raw/);
  });
});

describe('tsbpf inspect', () => {
  it.each(OBJECTS)('%s: exactly the programs, maps, globals and relocations of the parsed spec', (file) => {
    const path = join(BPF, file);
    const spec = parseObject(readFileSync(path), { name: objectNameOf(path) });
    const d = json(['inspect', path]);
    expect(d.programs.map((p: any) => [p.name, p.section, p.insns, p.attachTarget])).toEqual(spec.programs.map((p) => [p.name, p.sectionName, p.insnCount, p.attachTarget]));
    expect(d.subprograms.map((p: any) => p.name)).toEqual(spec.subprograms.map((p) => p.name));
    expect(d.maps.map((m: any) => [m.name, m.maxEntries, m.keySize, m.valueSize])).toEqual(spec.maps.map((m) => [m.name, m.spec.maxEntries, m.spec.keySize, m.spec.valueSize]));
    const fns = [...spec.programs, ...spec.subprograms];
    const all = [...d.programs, ...d.subprograms];
    for (const [i, fn] of fns.entries()) {
      expect(all[i].relocations.map((r: any) => [r.kind, r.insn]), fn.name).toEqual(fn.relocs.map((r) => [r.kind, r.insnIdx]));
    }
    // Every CO-RE record of .BTF.ext is listed once, under the function holding its instruction.
    const coreRecords = (spec.btfExt?.coreRelos ?? []).reduce((n, s) => n + s.records.length, 0);
    expect(all.reduce((n: number, f: any) => n + f.core.length, 0)).toBe(coreRecords);
    expect(d.externs.map((e: any) => e.name).sort()).toEqual(spec.externs.map((e) => e.name).sort());
    expect(d.globals.flatMap((g: any) => g.vars.map((v: any) => v.name)).sort()).toEqual(spec.globals.map((g) => g.name).sort());
    expect(d.license).toBe(spec.license);

    // The text output names every program and map.
    const text = tsbpf(['inspect', path]);
    expect(text.status).toBe(0);
    for (const p of spec.programs) expect(text.stdout).toContain(`${p.name}  section ${p.sectionName}`);
    for (const m of spec.maps) expect(text.stdout).toMatch(new RegExp(`^ +${m.name.replace(/\./g, '\\.')}  `, 'm'));
  });

  it.skipIf(!hasCommand('llvm-objdump-19', ['--version']))('relocation counts per code section agree with llvm-objdump -r', () => {
    for (const file of OBJECTS) {
      const path = join(BPF, file);
      const d = json(['inspect', path]);
      const dump = execFileSync('llvm-objdump-19', ['-r', path], { encoding: 'utf8' });
      const perSection = new Map<string, number>();
      let sec = '';
      for (const line of dump.split('\n')) {
        const h = /^RELOCATION RECORDS FOR \[(.*)\]:/.exec(line);
        if (h) { sec = h[1]!; continue; }
        if (/^[0-9a-f]{16} /.test(line)) perSection.set(sec, (perSection.get(sec) ?? 0) + 1);
      }
      const ours = new Map<string, number>();
      for (const f of [...d.programs, ...d.subprograms]) ours.set(f.section, (ours.get(f.section) ?? 0) + f.relocations.length);
      for (const [s, n] of ours) expect(n, `${file} ${s}`).toBe(perSection.get(s) ?? 0);
      // Code sections only (.maps and .BTF have relocations of their own).
      const code = new Set([...d.programs.map((p: any) => p.section), '.text']);
      for (const [s, n] of perSection) if (code.has(s)) expect(ours.get(s) ?? 0, `${file} ${s}`).toBe(n);
    }
  });

  it.skipIf(!hasCommand('bpftool', ['version']))('BTF-defined maps and functions agree with bpftool btf dump', () => {
    for (const file of OBJECTS) {
      const path = join(BPF, file);
      const d = json(['inspect', path]);
      const raw = execFileSync('bpftool', ['btf', 'dump', 'file', path], { encoding: 'utf8' });
      const funcs = [...raw.matchAll(/^\[\d+\] FUNC '([^']+)' type_id=\d+ linkage=global/gm)].map((m) => m[1]).sort();
      const progsAndGlobalSubprogs = [...d.programs.map((p: any) => p.name), ...d.subprograms.filter((s: any) => funcs.includes(s.name)).map((s: any) => s.name)].sort();
      expect(progsAndGlobalSubprogs, file).toEqual(funcs);
      const mapsSec = /^\[\d+\] DATASEC '\.maps' size=\d+ vlen=\d+\n((?:\t.*\n?)*)/m.exec(raw);
      const btfMaps = mapsSec ? [...mapsSec[1]!.matchAll(/\(VAR '([^']+)'\)/g)].map((m) => m[1]).sort() : [];
      expect(d.maps.filter((m: any) => m.origin === 'btf').map((m: any) => m.name).sort(), file).toEqual(btfMaps);
    }
  });

  it('CO-RE relocations in C notation', () => {
    const d = json(['inspect', join(BPF, 'bootstrap.bpf.o')]);
    const exec = d.programs.find((p: any) => p.name === 'handle_exec');
    expect(exec.core.map((c: any) => c.description)).toContain('struct task_struct::real_parent (field byte offset)');
    expect(exec.relocationsByKind).toMatchObject({ map: expect.any(Number), data: 1, core: exec.core.length });
  });
});

describe('tsbpf: bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file, a non-ELF file, a truncated object: one line each, exit 1', () => {
    expectOneLineError(tsbpf(['inspect', join(dir, 'nope.bpf.o')]), 1, /cannot read object .*nope\.bpf\.o: no such file/);
    expectOneLineError(tsbpf(['inspect', join(REPO, 'package.json')]), 1, /package\.json: not an ELF file/);
    const truncated = join(dir, 'truncated.bpf.o');
    writeFileSync(truncated, readFileSync(join(BPF, 'core.bpf.o')).subarray(0, 3000));
    expectOneLineError(tsbpf(['inspect', truncated]), 1, /truncated\.bpf\.o: .*(past the end|truncated|outside)/);
    expectOneLineError(tsbpf(['btf', 'dump', join(REPO, 'package.json')]), 1, /package\.json: neither an ELF object nor a BTF blob/);
    expectOneLineError(tsbpf(['run', truncated]), 1, /truncated/);
  });

  it.skipIf(needsRoot)('an unknown id: one line, exit 1', () => {
    expectOneLineError(tsbpf(['prog', 'show', '4294967295']), 1, /^tsbpf prog: no program with id 4294967295/);
    expectOneLineError(tsbpf(['map', 'show', '4294967295']), 1, /^tsbpf map: no map with id 4294967295/);
    expectOneLineError(tsbpf(['link', 'show', '4294967295']), 1, /^tsbpf link: no link with id 4294967295/);
    expectOneLineError(tsbpf(['map', 'dump', '4294967295']), 1, /^tsbpf map: no map with id 4294967295/);
  });

  it.skipIf(!isRoot || !hasCommand('setpriv', ['--version']))('a user without privileges: one line naming EPERM and what is needed, exit 1', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'prog', 'list'], { encoding: 'utf8', env: { ...process.env, DEBUG: '', TSBPF_COMPILE_CACHE: '0' } });
    expectOneLineError({ status: r.status, stdout: r.stdout, stderr: r.stderr }, 1, /^tsbpf prog: .*EPERM.*needs root/);
    // inspect is a pure parse: it works without privileges.
    const ins = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'inspect', join(BPF, 'bootstrap.bpf.o')], { encoding: 'utf8', env: { ...process.env, DEBUG: '', TSBPF_COMPILE_CACHE: '0' } });
    expect(ins.status).toBe(0);
    expect(ins.stdout).toContain('handle_exec  section tp/sched/sched_process_exec');
    // With DEBUG=tsbpf:* the stack is there.
    const dbg = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'prog', 'list'], { encoding: 'utf8', env: { ...process.env, DEBUG: 'tsbpf:*', TSBPF_COMPILE_CACHE: '0' } });
    expect(dbg.status).toBe(1);
    expect(dbg.stderr).toMatch(/\n\s+at /);
  });
});

describe.skipIf(needsRoot)('tsbpf prog / map / link: what the kernel holds', () => {
  it('lists and shows a program, its maps and its link, with the tag the kernel computed', async () => {
    const obj = BpfObject.open(join(BPF, 'bootstrap.bpf.o'));
    try {
      obj.load();
      const links = obj.attachAll({ mount: true });
      const info = obj.program('handle_exec').prog!.info();
      const progs = json<any[]>(['prog', 'list']);
      const mine = progs.find((p) => p.id === info.id);
      expect(mine).toMatchObject({ id: info.id, name: 'handle_exec', type: 'tracepoint', tag: info.tag, mapIds: info.mapIds });
      expect(new Date(mine.loadedAt).getTime()).toBeGreaterThan(Date.now() - 600_000);
      const shown = tsbpf(['prog', 'show', String(info.id)]);
      expect(shown.status).toBe(0);
      expect(shown.stdout).toContain(`${info.id}: tracepoint  name handle_exec  tag ${info.tag}`);
      const text = tsbpf(['prog', 'list']);
      expect(text.stdout).toContain(`tag ${info.tag}`);

      const rb = obj.map('rb').map!.info();
      const map = json(['map', 'show', String(rb.id)]);
      expect(map).toMatchObject({ id: rb.id, type: 'ringbuf', name: 'rb', maxEntries: 256 * 1024 });
      expect(json<any[]>(['map', 'list']).map((m) => m.id)).toEqual(expect.arrayContaining(info.mapIds));

      const linkIds = links.map((l) => l.info().id);
      const listed = json<any[]>(['link', 'list']).filter((l) => linkIds.includes(l.id));
      expect(listed.map((l) => [l.type, l.target]).sort()).toEqual([['perf_event', 'tracepoint sched_process_exec'], ['perf_event', 'tracepoint sched_process_exit']]);
      expect(tsbpf(['link', 'show', String(linkIds[0])]).stdout).toMatch(new RegExp(`^${linkIds[0]}: perf_event  prog \\d+  tracepoint sched_process_`));
    } finally {
      await obj.destroy();
    }
  });

  it('map dump decodes a hash of structs through the map\'s BTF, per-CPU values per CPU', async () => {
    const obj = BpfObject.open(join(BPF, 'core.bpf.o'));
    try {
      obj.load();
      const btf = obj.spec.btf!;
      const snapMap = obj.spec.maps.find((m) => m.name === 'snapshots')!;
      const size = (btf.type(snapMap.btfValueTypeId) as BtfComposite).size;
      const at = (f: string) => findMember(btf, snapMap.btfValueTypeId, f)!.bitOffset / 8;
      const m = obj.map('snapshots').map!;
      for (const [key, pid, comm] of [[7, 4242, 'seven'], [11, 1111, 'eleven']] as const) {
        const v = Buffer.alloc(size);
        v.writeUInt32LE(pid, at('pid'));
        v.writeBigUInt64LE(123456789012345n, at('start_time'));
        v.write(comm, at('comm'));
        m.update(key, v);
      }
      const id = m.info().id;
      const dump = json<any[]>(['map', 'dump', String(id)]);
      expect(dump.map((e) => e.key).sort((a, b) => a - b)).toEqual([7, 11]);
      const seven = dump.find((e) => e.key === 7).value;
      expect(seven).toMatchObject({ pid: 4242, comm: 'seven', start_time: 123456789012345, tgid: 0 });
      expect(dump.find((e) => e.key === 11).value).toMatchObject({ pid: 1111, comm: 'eleven' });
      const text = tsbpf(['map', 'dump', String(id)]);
      expect(text.stdout).toMatch(/^# snapshots: key u32, value struct core_snapshot$/m);
      expect(text.stdout).toMatch(/^7: \{"pid":4242,/m);
      expect(text.stdout).toMatch(/^Found 2 elements$/m);
      // The same map through a pin path.
      const pin = join(bpffsPath({ mount: true }), `tsbpf_cli_test_${process.pid}`);
      m.pin(pin);
      try {
        expect(json<any[]>(['map', 'dump', pin])).toEqual(dump);
      } finally {
        m.unpin();
      }

      // Per-CPU: one value per possible CPU.
      const scratch = obj.map('scratch').map!;
      const pc = json<any[]>(['map', 'dump', String(scratch.info().id)]);
      expect(pc[0].values.length).toBe(scratch.lookupPerCpu(0)!.length);
      expect(pc[0].values[0]).toMatchObject({ cpu: 0, value: expect.objectContaining({ pid: 0 }) });
    } finally {
      await obj.destroy();
    }
  });

  it('map dump --hist draws a log2 histogram map as libbpf-tools does', async () => {
    const obj = BpfObject.open(join(BPF, 'syslat.bpf.o'));
    try {
      obj.load(); // not attached: the test writes the buckets itself
      const hist = obj.map('hist').map!;
      const counts = [3, 29, 0, 7, 1];
      counts.forEach((c, slot) => hist.update(slot, BigInt(c)));
      const r = tsbpf(['map', 'dump', String(hist.info().id), '--hist', '--unit', 'usecs']);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(formatLog2Hist(counts, 'usecs'));
      expect(r.stdout.split('\n').slice(0, 3)).toEqual([
        '     usecs               : count    distribution',
        '         0 -> 1          : 3        |****                                    |',
        '         2 -> 3          : 29       |****************************************|',
      ]);
      expect(json<any[]>(['map', 'dump', String(hist.info().id), '--hist'])[0].counts.slice(0, 5)).toEqual(counts);
      const lin = tsbpf(['map', 'dump', String(hist.info().id), '--hist', '--linear', '10,5']);
      expect(lin.stdout).toBe(formatLinearHist([...counts, ...new Array(22).fill(0)], 10, 5));
    } finally {
      await obj.destroy();
    }
  });
});

describe('histograms (pure)', () => {
  it('log2: ranges, counts and star bars like print_log2_hist', () => {
    const text = formatLog2Hist([0, 1, 4, 2], 'nsecs');
    expect(text).toBe([
      '     nsecs               : count    distribution',
      '         0 -> 1          : 0        |                                        |',
      '         2 -> 3          : 1        |**********                              |',
      '         4 -> 7          : 4        |****************************************|',
      '         8 -> 15         : 2        |********************                    |',
      '',
    ].join('\n'));
    expect(formatLog2Hist([0, 0])).toBe('');
  });
  it('linear: only the non-empty buckets between the first and the last', () => {
    expect(formatLinearHist([0, 2, 0, 1], 100, 10, 'ms')).toBe([
      '     ms            : count     distribution',
      '        110        : 2        |****************************************|',
      '        130        : 1        |********************                    |',
      '',
    ].join('\n'));
  });
});

describe('tsbpf btf dump', () => {
  it.skipIf(!hasCommand('bpftool', ['version']))('--format raw of an object is bpftool btf dump, line for line', () => {
    for (const file of ['bootstrap.bpf.o', 'core.bpf.o', 'maps.bpf.o', 'globals.bpf.o']) {
      const path = join(BPF, file);
      expect(tsbpf(['btf', 'dump', path, '--format', 'raw']).stdout, file).toBe(execFileSync('bpftool', ['btf', 'dump', 'file', path], { encoding: 'utf8' }));
    }
  });

  it.skipIf(!hasCommand('bpftool', ['version']) || !readdirSync('/sys/kernel/btf').includes('vmlinux'))('--format c of vmlinux declares the same set of types as bpftool', () => {
    const ours = tsbpf(['btf', 'dump', 'vmlinux', '--format', 'c']);
    expect(ours.status).toBe(0);
    const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const decls = (h: string) => new Set([
      ...[...h.matchAll(/^(struct|union|enum) (\w+) \{/gm)].map((m) => `${m[1]} ${m[2]}`),
      ...[...h.matchAll(/^(struct|union) (\w+);$/gm)].map((m) => `fwd ${m[1]} ${m[2]}`),
      ...[...h.matchAll(/^typedef [^;]*?\b(\w+)(?:\)\(.*\))?(?:\[\d+\])*;$/gm)].map((m) => `typedef ${m[1]}`),
      ...[...h.matchAll(/^\t(\w+) = -?\d+/gm)].map((m) => `enumerator ${m[1]}`),
    ]);
    const a = decls(ours.stdout);
    const b = decls(theirs);
    expect(a.size).toBeGreaterThan(20000);
    expect([...a].filter((x) => !b.has(x))).toEqual([]);
    expect([...b].filter((x) => !a.has(x))).toEqual([]);
  });

  it.skipIf(needsRoot || !hasCommand('clang-19', ['--version']))('the vmlinux.h it writes compiles bootstrap and core, and they load with the committed objects\' tags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-vmlinux-h-'));
    try {
      const r = tsbpf(['btf', 'dump', 'vmlinux', '--format', 'c', '-o', join(dir, 'vmlinux.h')]);
      expect(r.status).toBe(0);
      for (const f of readdirSync(BPF)) if (f.endsWith('.h') && f !== 'vmlinux.h' || f.endsWith('.bpf.c')) copyFileSync(join(BPF, f), join(dir, f));
      for (const name of ['bootstrap', 'core']) {
        execFileSync('clang-19', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I/usr/include/x86_64-linux-gnu', '-I.', '-Wall', '-Wno-unused-variable', '-Wno-unused-function', '-c', `${name}.bpf.c`, '-o', `${name}.bpf.o`], { cwd: dir, stdio: 'pipe' });
        const tags = async (path: string): Promise<string[]> => {
          const obj = BpfObject.open(path);
          try {
            obj.load();
            return [...obj.programs.values()].filter((p) => p.prog).map((p) => `${p.name}=${p.prog!.tag()}`).sort();
          } finally {
            await obj.destroy();
          }
        };
        const committed = await tags(join(BPF, `${name}.bpf.o`));
        expect(committed.length).toBeGreaterThan(0);
        expect(await tags(join(dir, `${name}.bpf.o`)), name).toEqual(committed);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--type writes one type and what it needs', () => {
    const r = tsbpf(['btf', 'dump', join(BPF, 'core.bpf.o'), '--type', 'core_snapshot']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^struct core_snapshot \{$/m);
    expect(r.stdout).toMatch(/^#pragma clang attribute push/m);
    expectOneLineError(tsbpf(['btf', 'dump', join(BPF, 'core.bpf.o'), '--type', 'no_such_type']), 1, /no type named "no_such_type"/);
  });
});

/** Lines of a child's stream, as they come. */
function lines(stream: NodeJS.ReadableStream): { all: string[]; wait(pred: (l: string) => boolean, ms: number): Promise<string> } {
  const all: string[] = [];
  let buf = '';
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      all.push(l);
      for (const w of [...waiters]) if (w.pred(l)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(l); }
    }
  });
  return {
    all,
    wait: (pred, ms) => new Promise((resolvePromise, reject) => {
      const hit = all.find(pred);
      if (hit) return resolvePromise(hit);
      const t = setTimeout(() => reject(new Error(`no such line within ${ms} ms; got:\n${all.join('\n')}`)), ms);
      waiters.push({ pred, resolve: (l) => { clearTimeout(t); resolvePromise(l); } });
    }),
  };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

describe.skipIf(needsRoot)('tsbpf run', () => {
  it('prints a JSON event for an exec we make, and exits 0 on SIGINT with its links gone', async () => {
    const child = spawn(process.execPath, [CLI, 'run', join(BPF, 'syslat.bpf.o'), '--events', 'events:exec_event', '--set', `target_tgid=${process.pid}`], { cwd: REPO, env: { ...process.env, DEBUG: '' } });
    const out = lines(child.stdout!);
    const err = lines(child.stderr!);
    const done = exited(child);
    try {
      await err.wait((l) => /3 link\(s\) attached, streaming events; Ctrl-C stops/.test(l), 30_000);
      // Its links, found through its programs' ids (other processes' objects come and go meanwhile).
      const progIds = new Set(json<any[]>(['prog', 'list']).filter((p) => p.name.startsWith('syslat_')).map((p) => p.id));
      const ours = json<any[]>(['link', 'list']).filter((l) => progIds.has(l.progId));
      expect(ours.length).toBeGreaterThanOrEqual(3);
      const t = spawnSync('/bin/true');
      expect(t.status).toBe(0);
      const line = await out.wait((l) => l.includes('"comm":"true"') && l.includes(`"pid":${t.pid}`), 10_000);
      expect(JSON.parse(line)).toEqual({ map: 'events', data: { pid: t.pid, ppid: process.pid, comm: 'true' } });
      child.kill('SIGINT');
      expect(await done).toBe(0);
      // The maps were printed when it stopped: the histogram array, decoded.
      const hist = out.all.map((l) => JSON.parse(l)).find((o) => o.map === 'hist');
      expect(hist.entries).toHaveLength(27);
      // Its links are gone.
      for (const l of ours) expect(tsbpf(['link', 'show', String(l.id)]).status).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--duration stops by itself; a verifier failure prints the summary and the source line (-v: the whole log)', async () => {
    const r = tsbpf(['run', join(BPF, 'minimal.bpf.o'), '--duration', '0.2', '--no-maps']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/1 link\(s\) attached/);
    const bad = tsbpf(['run', join(BPF, 'broken.bpf.o')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/verifier: .*\n/);
    expect(bad.stderr).toMatch(/at broken\.bpf\.c:\d+: /);
    expect(bad.stderr).toMatch(/-v prints the whole verifier log/);
    const verbose = tsbpf(['run', join(BPF, 'broken.bpf.o'), '-v']);
    expect(verbose.stderr).toMatch(/--- verifier log ---\n(.|\n)*processed \d+ insns/);
  });
});

describe.skipIf(needsRoot)('tsbpf trace and feature', () => {
  it('trace prints the bpf_printk lines of one pid as JSON', async (ctx) => {
    const obj = BpfObject.open(join(BPF, 'minimal.bpf.o'));
    const child = spawn(process.execPath, [CLI, 'trace', '--pid', String(process.pid), '--json', '--duration', '20'], { cwd: REPO, env: { ...process.env, DEBUG: '' } });
    const out = lines(child.stdout!);
    const done = exited(child);
    try {
      obj.bss.set('my_pid', process.pid);
      obj.load();
      obj.attachAll({ mount: true });
      // Write until a line comes (the reader may start after the first writes).
      const tick = setInterval(() => writeFileSync('/dev/null', 'x'), 100);
      try {
        const line = await out.wait((l) => l.includes('BPF triggered from PID'), 15_000);
        expect(JSON.parse(line)).toMatchObject({ pid: process.pid, message: `BPF triggered from PID ${process.pid}.` });
      } finally {
        clearInterval(tick);
      }
      child.kill('SIGINT');
      expect(await done).toBe(0);
    } catch (e) {
      const refused = kernelRefusal(e);
      if (refused) ctx.skip(`the kernel refused the tracepoint program (${refused})`);
      throw e;
    } finally {
      child.kill('SIGKILL');
      await obj.destroy();
    }
  });

  it('feature: program and map types probed, helpers per program type, link types and BTF kinds', () => {
    const f = json(['feature']);
    const prog = (n: string) => f.programTypes.find((p: any) => p.name === n);
    expect(prog('tracepoint')).toMatchObject({ answer: 'yes', value: 5 });
    expect(prog('xdp')).toMatchObject({ answer: 'yes' });
    expect(f.mapTypes.find((m: any) => m.name === 'ringbuf')).toMatchObject({ answer: 'yes' });
    expect(f.mapTypes.find((m: any) => m.name === 'hash')).toMatchObject({ answer: 'yes' });
    expect(f.helpers.tracepoint).toEqual(expect.arrayContaining(['bpf_map_lookup_elem', 'bpf_ringbuf_output', 'bpf_get_current_task']));
    expect(f.helpers.xdp).toContain('bpf_xdp_adjust_head');
    expect(f.helpers.tracepoint).not.toContain('bpf_xdp_adjust_head'); // a helper of XDP programs only
    expect(f.linkKinds.find((l: any) => l.name === 'perf_event')).toMatchObject({ answer: 'yes' });
    for (const k of ['INT', 'STRUCT', 'DATASEC', 'ENUM64']) expect(f.btfKinds.find((b: any) => b.name === k), k).toMatchObject({ answer: 'yes' });
    const text = tsbpf(['feature', '--no-helpers']);
    expect(text.stdout).toMatch(/^ {2}tracepoint +yes$/m);
  });
});
