// The README's "Using it" workflow, followed as a new user would in a project
// of their own: compile a small BPF program with clang, generate its skeleton
// with generateSkeleton (importing the package 'tsbpf', as published: dist/),
// type-check a program using it with tsc --strict, run it on the kernel and
// see its typed events.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDist, writeTypes } from '../scripts/build.ts';
import { hasCommand, needsRoot } from './helpers/env.ts';

const REPO = resolve(import.meta.dirname, '..');
const CLANG = 'clang-19';

const BPF_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";

struct event {
	int pid;
	unsigned long long count;
	char comm[16];
};
const struct event *unused __attribute__((unused));

const volatile int step = 1;
int my_pid = 0;
unsigned long long count = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

SEC("tp/syscalls/sys_enter_write")
int on_write(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;
	struct event *e;

	if (pid != my_pid)
		return 0;
	count += step;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->count = count;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
`;

const GEN_TS = `
import { readFileSync, writeFileSync } from 'node:fs';
import { generateSkeleton } from 'tsbpf';

writeFileSync('myprog.skel.ts', generateSkeleton(readFileSync('myprog.bpf.o'), { name: 'my_prog', types: ['event'] }));
`;

const MAIN_TS = `
import { MyProg } from './myprog.skel.ts';

const skel = MyProg.open();
skel.rodata.step = 10;
const live = skel.load();
live.attach({ mount: true });
live.bss.my_pid = process.pid;
live.maps.rb.onEvent(async (e) => {
  const line = 'event pid=' + e.pid + ' count=' + e.count + ' comm=' + e.comm + ' bss=' + live.bss.count + '\\n';
  await live.destroy();
  process.stderr.write(line);
  process.exit(0);
});
process.stdout.write('hello\\n'); // a write(2) of ours
`;

describe.skipIf(needsRoot)('the README workflow, in a project of its own', () => {
  beforeAll(async () => {
    await writeDist();
    writeTypes();
  });

  it('compile, generate, type-check, run: typed events', { timeout: 120_000 }, (ctx) => {
    if (!hasCommand(CLANG)) return ctx.skip(`needs ${CLANG} to compile the user's BPF program`);
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-readme-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(REPO, join(dir, 'node_modules', 'tsbpf'));
      symlinkSync(join(REPO, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      writeFileSync(join(dir, 'myprog.bpf.c'), BPF_C);
      writeFileSync(join(dir, 'gen.ts'), GEN_TS);
      writeFileSync(join(dir, 'main.ts'), MAIN_TS);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], allowImportingTsExtensions: true },
        files: ['main.ts'],
      }));
      execFileSync(CLANG, ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I/usr/include/x86_64-linux-gnu', '-c', 'myprog.bpf.c', '-o', 'myprog.bpf.o'], { cwd: dir });
      const tsx = join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs');
      execFileSync(process.execPath, ['--import', tsx, 'gen.ts'], { cwd: dir });
      execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
      const r = spawnSync(process.execPath, ['--import', tsx, 'main.ts'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      // the first write counted with the rodata step we set before load, the .bss counter read live
      expect(r.stderr).toMatch(new RegExp(`event pid=${r.pid} count=10 comm=node bss=(\\d+)`));
      // the skeleton imported the published package (dist/), not the sources
      expect(readFileSync(join(dir, 'myprog.skel.ts'), 'utf8')).toContain('} from "tsbpf";');
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      throw new Error(`${(e as Error).message}\nstdout: ${x.stdout ?? ''}\nstderr: ${x.stderr ?? ''}`, { cause: e });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
