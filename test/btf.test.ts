// BTF: parse real objects and the running kernel's vmlinux, compare every type
// with bpftool's JSON dump, round-trip through the marshaller, check .BTF.ext
// against the source, sanitize, and survive hostile input.
import { patchObjectBtf } from '../src/object/btf_fixup.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseElf, type ElfFile } from '../src/elf/index.ts';
import {
  BtfBuilder, BtfError, marshalBtf, parseBtf, parseBtfExt, sanitizeBtf, needsSanitization, loadKernelBtf,
  clearKernelBtfCache, sizeof, alignof, typeToC, findMember, essentialName, resolveType,
  extRecordsFor, ALL_BTF_FEATURES, ENUM64_PLACEHOLDER, BPF_CORE_FIELD_BYTE_OFFSET,
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_ARRAY, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_FWD,
  BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO,
  BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FLOAT, BTF_KIND_DECL_TAG, BTF_KIND_TYPE_TAG, BTF_KIND_ENUM64,
  BTF_KIND_NAMES, BTF_FUNC_STATIC, BTF_VAR_STATIC, type Btf, type BtfType,
} from '../src/btf/index.ts';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasVmlinux = existsSync(VMLINUX);
const hasClang = (() => { try { execFileSync('clang-19', ['--version']); return true; } catch { return false; } })();
const hasBpftool = (() => { try { execFileSync('bpftool', ['version']); return true; } catch { return false; } })();

/** Every kind, bitfields, signed enums, tags, globals, maps, CO-RE accesses, a subprogram. */
const KINDS_C = String.raw`
#include <linux/types.h>
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))
#define __ctx __attribute__((preserve_access_index))

struct task { int pid; char comm[16]; struct task *parent; } __ctx;
struct task___v2 { int pid; } __ctx;

struct bits {
  unsigned int a : 3;
  unsigned int b : 5;
  int c : 7;
  unsigned long long d;
  union { int u1; char u2[4]; };
  struct { short s1; short s2; } inner;
};

enum color { RED, GREEN = 5, BLUE = -1 };
enum big { BIG_A = 0xffffffffffULL, BIG_B = 1 };
enum sbig { SBIG_NEG = -5000000000LL };
typedef struct bits bits_t;
typedef unsigned int u32_t;

struct {
  __uint(type, 2);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, struct bits);
} counters SEC(".maps");

int global_counter = 7;
static volatile const int config_val = 3;
bits_t bss_bits;
float ratio = 1.5f;
double dratio;
enum big big_val = BIG_B;
enum sbig sbig_val;
enum color color_val;
u32_t typedef_val;
struct fwd_only *fwd_ptr;
union ufwd *ufwd_ptr;
volatile int * restrict restrict_ptr;
int (*fn_ptr)(int, ...);
__attribute__((visibility("hidden"))) int hidden_var = 1;
int __tag("my_tag") tagged_var;
int __ttag("user") *tagged_ptr;
extern int LINUX_KERNEL_VERSION __attribute__((section(".kconfig"), weak));

static __attribute__((noinline)) int helper_fn(int x __tag("arg_tag"), const char *p)
{
  return x + p[0] + config_val;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(struct task *t)
{
  int pid = t->pid;
  struct task *par = t->parent;
  char c = t->comm[3];
  global_counter += pid + c + (par ? 1 : 0) + hidden_var;
  bss_bits.a = 2;
  return helper_fn(global_counter, t->comm) + (*(int*)&ratio) + big_val + sbig_val + LINUX_KERNEL_VERSION;
}

SEC("xdp")
int xdp_prog(void *ctx)
{
  return 2 + tagged_var + (tagged_ptr ? 1 : 0) + ((struct task___v2 *)ctx)->pid;
}

char LICENSE[] SEC("license") = "GPL";
`;

let dir = '';
let kindsPath = '';
let kindsSource: string[] = [];
const objects: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsbpf-btf-'));
  if (hasClang) {
    const src = join(dir, 'kinds.bpf.c');
    writeFileSync(src, KINDS_C);
    kindsSource = KINDS_C.split('\n');
    kindsPath = join(dir, 'kinds.bpf.o');
    execFileSync('clang-19', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', kindsPath]);
    objects.push(kindsPath);
  }
  const bpfDir = join(import.meta.dirname, '..', 'bpf');
  if (existsSync(bpfDir)) for (const f of readdirSync(bpfDir).sort()) if (f.endsWith('.bpf.o')) objects.push(join(bpfDir, f));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function objectBtf(path: string): { elf: ElfFile; btf: Btf; raw: Uint8Array } {
  const elf = parseElf(readFileSync(path), path);
  const raw = elf.sectionByName('.BTF')!.data;
  return { elf, btf: parseBtf(raw, { name: path }), raw };
}

/** Our decoded type in bpftool's JSON shape (bpftool -j btf dump file X). */
function asBpftool(btf: Btf, t: BtfType): Record<string, unknown> {
  const name = t.name || '(anon)';
  const linkage = ['static', 'global', 'extern'];
  const base = { id: t.id, kind: BTF_KIND_NAMES[t.kind], name };
  switch (t.kind) {
    case BTF_KIND_INT: {
      const enc = t.encoding & 1 ? 'SIGNED' : t.encoding & 2 ? 'CHAR' : t.encoding & 4 ? 'BOOL' : '(none)';
      return { ...base, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: enc };
    }
    case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
      return { ...base, type_id: t.type };
    case BTF_KIND_ARRAY: return { ...base, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case BTF_KIND_STRUCT: case BTF_KIND_UNION:
      return {
        ...base, size: t.size, vlen: t.members.length,
        members: t.members.map((m) => ({ name: m.name || '(anon)', type_id: m.type, bits_offset: m.bitOffset, ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}) })),
      };
    case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
      return {
        ...base, encoding: t.signed ? 'SIGNED' : 'UNSIGNED', size: t.size, vlen: t.values.length,
        // bpftool 7.1 prints unsigned 32-bit enumerators >= 2^31 sign-extended to 64 bits.
        values: t.values.map((v) => ({ name: v.name, val: t.kind === BTF_KIND_ENUM && !t.signed && v.value >= 2 ** 31 ? Number(2n ** 64n - BigInt(2 ** 32 - Number(v.value))) : Number(v.value) })),
      };
    case BTF_KIND_FWD: return { ...base, fwd_kind: t.union ? 'union' : 'struct' };
    case BTF_KIND_FUNC: return { ...base, type_id: t.type, linkage: linkage[t.linkage] };
    case BTF_KIND_FUNC_PROTO:
      return { ...base, ret_type_id: t.type, vlen: t.params.length, params: t.params.map((p) => ({ name: p.name || '(anon)', type_id: p.type })) };
    case BTF_KIND_VAR: return { ...base, type_id: t.type, linkage: linkage[t.linkage] };
    case BTF_KIND_DATASEC:
      return { ...base, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case BTF_KIND_FLOAT: return { ...base, size: t.size };
    case BTF_KIND_DECL_TAG: return { ...base, type_id: t.type, component_idx: t.componentIdx };
  }
}

function bpftoolJson(path: string): Record<string, unknown>[] {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', path], { maxBuffer: 1 << 30, encoding: 'utf8' });
  return (JSON.parse(out) as { types: Record<string, unknown>[] }).types;
}

describe('object BTF', () => {
  it.skipIf(!hasClang)('decodes every kind of the test object', () => {
    const { btf } = objectBtf(kindsPath);
    const seen = new Set<number>();
    for (const t of btf) seen.add(t.kind);
    for (let k = 1; k <= 19; k++) expect(seen.has(k), `kind ${BTF_KIND_NAMES[k]}`).toBe(true);

    const bits = btf.type(btf.findByNameKind('bits', BTF_KIND_STRUCT));
    expect(bits.kind).toBe(BTF_KIND_STRUCT);
    if (bits.kind !== BTF_KIND_STRUCT) return;
    expect(bits.kindFlag).toBe(true);
    expect(bits.members.slice(0, 3).map((m) => [m.name, m.bitOffset, m.bitfieldSize])).toEqual([['a', 0, 3], ['b', 3, 5], ['c', 8, 7]]);
    expect(sizeof(btf, bits.id)).toBe(24);
    expect(alignof(btf, bits.id)).toBe(8);

    const color = btf.type(btf.findByNameKind('color', BTF_KIND_ENUM));
    expect(color).toMatchObject({ signed: true, values: [{ name: 'RED', value: 0 }, { name: 'GREEN', value: 5 }, { name: 'BLUE', value: -1 }] });
    expect(btf.type(btf.findByNameKind('big', BTF_KIND_ENUM64))).toMatchObject({ signed: false, values: [{ name: 'BIG_A', value: 0xffffffffffn }, { name: 'BIG_B', value: 1n }] });
    expect(btf.type(btf.findByNameKind('sbig', BTF_KIND_ENUM64))).toMatchObject({ signed: true, values: [{ name: 'SBIG_NEG', value: -5000000000n }] });
    expect(btf.type(btf.findByNameKind('ufwd', BTF_KIND_FWD))).toMatchObject({ union: true });
    expect(btf.type(btf.findByNameKind('fwd_only', BTF_KIND_FWD))).toMatchObject({ union: false });
    expect(btf.type(btf.findByNameKind('helper_fn', BTF_KIND_FUNC))).toMatchObject({ linkage: BTF_FUNC_STATIC });
    expect(btf.type(btf.findByNameKind('on_getpid', BTF_KIND_FUNC))).toMatchObject({ linkage: 1 });
    expect(btf.type(btf.findByNameKind('config_val', BTF_KIND_VAR))).toMatchObject({ linkage: BTF_VAR_STATIC });
    expect(btf.type(btf.findByNameKind('arg_tag', BTF_KIND_DECL_TAG))).toMatchObject({ componentIdx: 0 });
    expect(btf.type(btf.findByNameKind('my_tag', BTF_KIND_DECL_TAG))).toMatchObject({ componentIdx: -1 });
    expect(btf.findByNameKind('nope', BTF_KIND_STRUCT)).toBe(-1);
    expect(btf.findByNameKind('void', 0)).toBe(0);
    expect(btf.findByName('bits_t')).toEqual([btf.findByNameKind('bits_t', BTF_KIND_TYPEDEF)]);

    // C spelling for error messages.
    const c = (name: string, kind: number) => typeToC(btf, btf.findByNameKind(name, kind));
    expect(c('tagged_ptr', BTF_KIND_VAR)).toBe('__attribute__((btf_type_tag("user"))) int *tagged_ptr');
    expect(c('restrict_ptr', BTF_KIND_VAR)).toBe('volatile int *restrict restrict_ptr');
    expect(c('fn_ptr', BTF_KIND_VAR)).toBe('int (*fn_ptr)(int, ...)');
    expect(c('helper_fn', BTF_KIND_FUNC)).toBe('int helper_fn(int x, const char *p)');
    expect(c('LICENSE', BTF_KIND_VAR)).toBe('char LICENSE[4]');
    expect(c('config_val', BTF_KIND_VAR)).toBe('const volatile int config_val');

    // Members, including through the anonymous union.
    expect(findMember(btf, bits.id, 'u2')).toMatchObject({ bitOffset: 128, path: [4, 1] });
    expect(findMember(btf, btf.findByNameKind('bits_t', BTF_KIND_TYPEDEF), 'inner')).toMatchObject({ bitOffset: 160, path: [5] });
    expect(findMember(btf, bits.id, 'zzz')).toBeUndefined();
    expect(essentialName('task___v2')).toBe('task');
    expect(essentialName('task')).toBe('task');
    expect(resolveType(btf, btf.findByNameKind('bits_t', BTF_KIND_TYPEDEF))).toBe(bits.id);
  });

  it.skipIf(!hasBpftool)('matches bpftool type by type, and marshal(parse(.BTF)) is byte-identical, for every object', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const path of objects) {
      const { btf, raw } = objectBtf(path);
      const expected = bpftoolJson(path);
      expect(btf.typeCount, path).toBe(expected.length);
      for (const e of expected) expect(asBpftool(btf, btf.type(e.id as number)), `${path} [${e.id}]`).toEqual(e);
      const again = marshalBtf(btf);
      expect(Buffer.compare(Buffer.from(again), Buffer.from(raw)), `${path}: marshal round trip`).toBe(0);
    }
  });

  it('builder: new types and strings, re-parsed', () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
    const ptr = b.add({ kind: BTF_KIND_PTR, name: '', type: int });
    const s = b.add({ kind: BTF_KIND_STRUCT, name: 'pair', size: 16, kindFlag: true, members: [
      { name: 'x', type: int, bitOffset: 0, bitfieldSize: 4 }, { name: 'p', type: ptr, bitOffset: 64, bitfieldSize: 0 }] });
    const e = b.add({ kind: BTF_KIND_ENUM64, name: 'e', size: 8, signed: false, values: [{ name: 'MAX', value: 0xffffffffffffffffn }] });
    const btf = b.build('built');
    expect(btf.typeCount).toBe(4);
    expect(btf.type(s)).toEqual({ kind: BTF_KIND_STRUCT, id: s, name: 'pair', size: 16, kindFlag: true, members: [
      { name: 'x', type: int, bitOffset: 0, bitfieldSize: 4 }, { name: 'p', type: ptr, bitOffset: 64, bitfieldSize: 0 }] });
    expect(btf.type(e)).toMatchObject({ values: [{ name: 'MAX', value: 0xffffffffffffffffn }] });
    expect(btf.findByNameKind('pair', BTF_KIND_STRUCT)).toBe(s);
    expect(typeToC(btf, ptr)).toBe('int *');
    expect(() => b.add({ kind: BTF_KIND_PTR, name: '', type: 99 }) && b.marshal()).toThrow(BtfError);
  });
});

describe('.BTF.ext', () => {
  it.skipIf(!hasClang)('func_info, line_info and core_relo agree with the ELF and the source', () => {
    const { elf, btf } = objectBtf(kindsPath);
    const ext = parseBtfExt(elf.sectionByName('.BTF.ext')!.data, btf);
    expect(ext.funcInfoRecSize).toBe(8);
    expect(ext.lineInfoRecSize).toBe(16);
    expect(ext.coreReloRecSize).toBe(16);
    // Each func_info names the FUNC of the STT_FUNC symbol at that offset of that section.
    let funcs = 0;
    for (const sec of ext.funcInfo) {
      const shdr = elf.sectionByName(sec.secName)!;
      for (const r of sec.records) {
        const sym = elf.symbolsIn(shdr.index).find((s) => s.type === 2 && s.value === r.insnOff)!;
        expect(btf.kindOf(r.typeId)).toBe(BTF_KIND_FUNC);
        expect(btf.nameOf(r.typeId)).toBe(sym.name);
        funcs++;
      }
    }
    expect(funcs).toBe(3);
    // Each line_info carries the text of the source line it names.
    let lines = 0;
    for (const sec of ext.lineInfo) for (const r of sec.records) {
      expect(r.fileName.endsWith('kinds.bpf.c')).toBe(true);
      expect(r.line).toBe(kindsSource[r.lineNum - 1]);
      expect(r.insnOff % 8).toBe(0);
      lines++;
    }
    expect(lines).toBeGreaterThan(5);
    // CO-RE: t->parent, t->comm[3], t->pid, t->comm, and a flavored struct task___v2.
    const relos = extRecordsFor(ext.coreRelos, 'tracepoint/syscalls/sys_enter_getpid');
    expect(relos.map((r) => r.accessStr).sort()).toEqual(['0:0', '0:1', '0:1:3', '0:2']);
    for (const r of relos) {
      expect(r.kind).toBe(BPF_CORE_FIELD_BYTE_OFFSET);
      expect(btf.nameOf(r.typeId)).toBe('task');
    }
    const xdp = extRecordsFor(ext.coreRelos, 'xdp');
    expect(xdp).toHaveLength(1);
    expect(essentialName(btf.nameOf(xdp[0]!.typeId))).toBe('task');
  });

  it('honours rec_size larger than known and rejects broken blobs with an offset', () => {
    const b = new BtfBuilder();
    const proto = b.add({ kind: BTF_KIND_FUNC_PROTO, name: '', type: 0, params: [] });
    const fn = b.add({ kind: BTF_KIND_FUNC, name: 'f', type: proto, linkage: 1 });
    const secName = b.strings.intern('xdp');
    const btf = b.build();
    // func_info with 12-byte records (a future field appended).
    const words = [0x0001eb9f, 32, 0, 4 + 8 + 2 * 12, 0, 0, 0, 0, 12, secName, 2, 0, fn, 0xdead, 16, fn, 0xbeef];
    const blob = new Uint8Array(new Uint32Array(words).buffer);
    const ext = parseBtfExt(blob, btf);
    expect(ext.funcInfoRecSize).toBe(12);
    expect(ext.funcInfo[0]!.records).toEqual([{ insnOff: 0, typeId: fn }, { insnOff: 16, typeId: fn }]);
    const bad = new Uint32Array(words);
    bad[10] = 0x10000000; // num_info far past the end
    expect(() => parseBtfExt(new Uint8Array(bad.buffer), btf)).toThrow(/past the end/);
    bad[10] = 2; bad[8] = 4; // rec_size below the minimum
    expect(() => parseBtfExt(new Uint8Array(bad.buffer), btf)).toThrow(BtfError);
  });
});

describe('sanitizeBtf', () => {
  it.skipIf(!hasClang)('rewrites each missing feature like libbpf and keeps ids', () => {
    const { btf } = objectBtf(kindsPath);
    expect(sanitizeBtf(btf, ALL_BTF_FEATURES)).toBe(btf);
    expect(needsSanitization(btf, { ...ALL_BTF_FEATURES, float: false })).toBe(true);
    const none = { declTag: false, typeTag: false, enum64: false, float: false, funcLinkage: false, datasec: false };
    const s = sanitizeBtf(btf, none);
    expect(s).not.toBe(btf);
    expect(s.typeCount).toBe(btf.typeCount + 1); // the enum64 placeholder
    const placeholder = s.typeCount;
    expect(s.type(placeholder)).toMatchObject({ kind: BTF_KIND_INT, name: ENUM64_PLACEHOLDER, size: 1, bits: 8 });
    for (let id = 1; id <= btf.typeCount; id++) {
      const before = btf.type(id);
      const after = s.type(id);
      switch (before.kind) {
        case BTF_KIND_VAR: expect(after).toMatchObject({ kind: BTF_KIND_INT, name: before.name, size: 1, bits: 8 }); break;
        case BTF_KIND_DECL_TAG: expect(after).toMatchObject({ kind: BTF_KIND_INT, size: 1 }); break;
        case BTF_KIND_TYPE_TAG: expect(after).toMatchObject({ kind: BTF_KIND_CONST, name: '', type: before.type }); break;
        case BTF_KIND_FLOAT: expect(after).toMatchObject({ kind: BTF_KIND_STRUCT, name: '', size: before.size, members: [] }); break;
        case BTF_KIND_FUNC: expect(after).toMatchObject({ kind: BTF_KIND_FUNC, linkage: BTF_FUNC_STATIC }); break;
        case BTF_KIND_ENUM: expect(after).toMatchObject({ kind: BTF_KIND_ENUM, signed: false }); break;
        case BTF_KIND_ENUM64:
          expect(after).toMatchObject({ kind: BTF_KIND_UNION, size: before.size });
          if (after.kind === BTF_KIND_UNION) for (const m of after.members) expect(m).toMatchObject({ type: placeholder, bitOffset: 0 });
          break;
        case BTF_KIND_DATASEC:
          expect(after).toMatchObject({ kind: BTF_KIND_STRUCT, name: before.name.replace(/\./g, '_'), size: before.size });
          if (after.kind === BTF_KIND_STRUCT) expect(after.members.map((m) => [m.name, m.type])).toEqual(before.vars.map((v) => [btf.nameOf(v.type), v.type]));
          break;
        default: expect(after).toEqual(before);
      }
    }
    // No FUNC support at all: FUNC -> TYPEDEF, FUNC_PROTO -> ENUM of the params.
    const nofunc = sanitizeBtf(btf, { ...ALL_BTF_FEATURES, func: false });
    const helper = btf.findByNameKind('helper_fn', BTF_KIND_FUNC);
    expect(nofunc.kindOf(helper)).toBe(BTF_KIND_TYPEDEF);
    const proto = nofunc.type(btf.sizeOrTypeOf(helper));
    expect(proto).toMatchObject({ kind: BTF_KIND_ENUM, size: 4, values: [{ name: 'x' }, { name: 'p' }] });
  });

  it.skipIf(!hasClang)('the object BTF fix-up fills DATASEC sizes and offsets from the ELF', () => {
    const { elf, btf } = objectBtf(kindsPath);
    const fixed = parseBtf(patchObjectBtf({ btf, elf, externs: [], kconfigSize: 0 })!);
    const data = fixed.type(fixed.findByNameKind('.data', BTF_KIND_DATASEC));
    if (data.kind !== BTF_KIND_DATASEC) throw new Error('no .data');
    expect(data.size).toBe(elf.sectionByName('.data')!.size);
    const offsets = data.vars.map((v) => v.offset);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    for (const v of data.vars) expect(v.offset).toBe(elf.symbols.find((s) => s.name === fixed.nameOf(v.type))!.value);
    expect(fixed.type(fixed.findByNameKind('hidden_var', BTF_KIND_VAR))).toMatchObject({ linkage: BTF_VAR_STATIC });
    const kconfig = fixed.type(fixed.findByNameKind('.kconfig', BTF_KIND_DATASEC));
    expect(kconfig).toMatchObject({ size: 0 }); // extern datasecs are left to the extern resolver
  });
});

describe.skipIf(!hasVmlinux)('vmlinux', () => {
  it('parses lazily and finds kernel structs by name', () => {
    clearKernelBtfCache();
    const btf = loadKernelBtf();
    expect(loadKernelBtf()).toBe(btf); // cached
    expect(btf.typeCount).toBeGreaterThan(10000);
    const task = btf.findByNameKind('task_struct', BTF_KIND_STRUCT);
    expect(task).toBeGreaterThan(0);
    const pid = findMember(btf, task, 'pid')!;
    expect(pid).toBeDefined();
    expect(typeToC(btf, pid.member.type)).toBe('pid_t');
    expect(sizeof(btf, pid.member.type)).toBe(4);
    expect(sizeof(btf, task)).toBe(btf.sizeOrTypeOf(task));
    expect(btf.findByName('task_struct').length).toBeGreaterThanOrEqual(1);
    const fn = btf.findByNameKind('do_sys_openat2', BTF_KIND_FUNC);
    if (fn > 0) expect(typeToC(btf, fn)).toMatch(/^(int|long) do_sys_openat2\(int dfd, const char \*filename, struct open_how \*how\)$/);
  });

  it.skipIf(!hasBpftool)('every type matches bpftool and survives marshal + re-parse', { timeout: 120_000 }, () => {
    const btf = parseBtf(readFileSync(VMLINUX), { name: 'vmlinux' });
    const expected = bpftoolJson(VMLINUX);
    expect(btf.typeCount).toBe(expected.length);
    for (const e of expected) {
      const got = asBpftool(btf, btf.decode(e.id as number));
      if (JSON.stringify(got) !== JSON.stringify(e)) expect(got, `vmlinux [${e.id}]`).toEqual(e);
    }
    const again = parseBtf(marshalBtf(btf), { name: 'vmlinux again' });
    expect(again.typeCount).toBe(btf.typeCount);
    for (let id = 1; id <= btf.typeCount; id++) {
      const a = btf.decode(id);
      const b = again.decode(id);
      if (JSON.stringify(a, big) !== JSON.stringify(b, big)) expect(b, `[${id}]`).toEqual(a);
    }
  });

  it('a header index made by one parse is adopted by the next, which answers the same (src/btf/kernel.ts keeps it on disk)', () => {
    const bytes = readFileSync(VMLINUX);
    const first = parseBtf(bytes, { name: 'vmlinux', lazy: true });
    expect(first.headerIndex()).toBeUndefined(); // lazy: no complete pass yet
    const names = ['task_struct', 'file', 'sk_buff', 'cgroup', 'mm_struct'];
    const want = names.map((n) => first.findByEssentialName(n, BTF_KIND_STRUCT));
    const index = first.headerIndex()!;
    expect(index.offsets.length).toBe(first.localTypeCount);
    const second = parseBtf(bytes, { name: 'vmlinux', lazy: true, index });
    expect(second.headerIndex()).toBeDefined(); // adopted: complete from the start
    expect(second.typeCount).toBe(first.typeCount);
    expect(names.map((n) => second.findByEssentialName(n, BTF_KIND_STRUCT))).toEqual(want);
    for (const id of [1, 2, want[0]![0]!, first.typeCount >> 1, first.typeCount]) expect(second.decode(id)).toEqual(first.decode(id));
  });

  it('a header index that does not fit the blob is ignored, and the blob is scanned as usual', () => {
    const bytes = readFileSync(VMLINUX);
    const good = parseBtf(bytes, { lazy: true });
    const task = good.findByNameKind('task_struct', BTF_KIND_STRUCT);
    expect(good.typeCount).toBeGreaterThan(task); // completes the pass
    const index = good.headerIndex()!;
    const n = index.offsets.length;
    const copy = () => ({ offsets: index.offsets.slice(), kinds: index.kinds.slice(), keys: index.keys.slice() });
    const bad = [
      { ...copy(), offsets: index.offsets.slice(0, n - 1) }, // lengths disagree
      { offsets: index.offsets.slice(1), kinds: index.kinds.slice(1), keys: index.keys.slice(1) }, // another blob's
      (() => { const c = copy(); c.offsets[n - 1]! += 3; return c; })(),
      (() => { const c = copy(); c.kinds[0] = (c.kinds[0]! % 19) + 1; return c; })(),
      (() => { const c = copy(); c.keys[0]! ^= 0x100; return c; })(),
      { offsets: new Uint32Array(0), kinds: new Uint8Array(0), keys: new Uint32Array(0) },
    ];
    for (const [i, b] of bad.entries()) {
      const btf = parseBtf(bytes, { lazy: true, index: b });
      expect(btf.headerIndex(), `index ${i}`).toBeUndefined();
      expect(btf.findByNameKind('task_struct', BTF_KIND_STRUCT)).toBe(task);
    }
  });

  it('split BTF continues ids and strings after the base', () => {
    const base = loadKernelBtf();
    const b = new BtfBuilder(base);
    const task = base.findByNameKind('task_struct', BTF_KIND_STRUCT);
    const p = b.add({ kind: BTF_KIND_PTR, name: '', type: task });
    const s = b.add({ kind: BTF_KIND_STRUCT, name: 'my_module_state', size: 8, kindFlag: false, members: [{ name: 'task', type: p, bitOffset: 0, bitfieldSize: 0 }] });
    b.add({ kind: BTF_KIND_TYPEDEF, name: 'task_struct', type: s }); // a name the base has too
    const split = b.build('split');
    expect(p).toBe(base.typeCount + 1);
    expect(split.startId).toBe(base.typeCount + 1);
    expect(split.typeCount).toBe(base.typeCount + 3);
    expect(typeToC(split, p)).toBe('struct task_struct *');
    expect(split.findByNameKind('my_module_state', BTF_KIND_STRUCT)).toBe(s);
    expect(split.findByNameKind('task_struct', BTF_KIND_STRUCT)).toBe(task);
    expect(split.findByName('task_struct')).toEqual([...base.findByName('task_struct'), s + 1]);
    expect(split.type(s)).toMatchObject({ members: [{ name: 'task', type: p }] });
    // "task" and "task_struct" come from the base's string section: not duplicated.
    expect(split.stringsLength).toBe('my_module_state'.length + 1); // split string sections need no leading "\0"
  });
});

function big(_k: string, v: unknown): unknown { return typeof v === 'bigint' ? v.toString() : v; }

describe('hostile input', () => {
  const mini = (() => {
    const b = new BtfBuilder();
    const int = b.add({ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
    b.add({ kind: BTF_KIND_STRUCT, name: 's', size: 8, kindFlag: false, members: [{ name: 'a', type: int, bitOffset: 0, bitfieldSize: 0 }, { name: 'b', type: int, bitOffset: 32, bitfieldSize: 0 }] });
    b.add({ kind: BTF_KIND_ARRAY, name: '', type: int, indexType: int, nelems: 4 });
    return b.marshal();
  })();

  it('rejects bad headers and truncation with a BtfError naming the offset', () => {
    expect(() => parseBtf(new Uint8Array(10))).toThrow(/too short/);
    const badMagic = mini.slice(); badMagic[0] = 0;
    expect(() => parseBtf(badMagic)).toThrow(/bad magic/);
    const truncated = mini.slice(0, mini.length - 20);
    expect(() => parseBtf(truncated)).toThrow(/past the end/);
    const hugeVlen = mini.slice();
    new DataView(hugeVlen.buffer).setUint32(24 + 16 + 4, (BTF_KIND_STRUCT << 24) | 0xffff, true);
    try { parseBtf(hugeVlen); expect.unreachable(); } catch (e) {
      expect(e).toBeInstanceOf(BtfError);
      expect((e as BtfError).offset).toBe(24 + 16);
      expect((e as Error).message).toMatch(/type \[2\].*byte offset 40/);
    }
    const overflow = mini.slice(); // type_len near 2^32
    new DataView(overflow.buffer).setUint32(12, 0xfffffffc, true);
    expect(() => parseBtf(overflow)).toThrow(BtfError);
  });

  it('typedef cycles and self-references fail fast in sizeof/resolve/typeToC', () => {
    const b = new BtfBuilder();
    b.add({ kind: BTF_KIND_TYPEDEF, name: 'a', type: 2 });
    b.add({ kind: BTF_KIND_TYPEDEF, name: 'b', type: 1 });
    b.add({ kind: BTF_KIND_CONST, name: '', type: 3 });
    b.add({ kind: BTF_KIND_ARRAY, name: '', type: 4, indexType: 0, nelems: 2 });
    const btf = b.build();
    const t0 = performance.now();
    expect(() => sizeof(btf, 1)).toThrow(/cycle/);
    expect(() => resolveType(btf, 3)).toThrow(/cycle/);
    expect(() => sizeof(btf, 4)).toThrow(BtfError);
    expect(() => alignof(btf, 3)).toThrow(BtfError);
    expect(typeof typeToC(btf, 1)).toBe('string');
    expect(typeof typeToC(btf, 4)).toBe('string');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('array sizes that overflow 32 bits are refused', () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 });
    const a = b.add({ kind: BTF_KIND_ARRAY, name: '', type: int, indexType: int, nelems: 0x80000000 });
    expect(() => sizeof(b.build(), a)).toThrow(/overflows/);
  });

  it.skipIf(!hasClang)('random mutations: parse or BtfError, never anything else', () => {
    const { elf, raw } = objectBtf(kindsPath);
    const extRaw = elf.sectionByName('.BTF.ext')!.data;
    let rng = 0x12345678;
    const next = () => { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; return rng >>> 0; };
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = raw.slice();
      const ext = extRaw.slice();
      const target = i % 3 === 0 ? ext : bytes;
      const flips = 1 + (next() % 4);
      for (let f = 0; f < flips; f++) {
        const at = next() % target.length;
        // Mostly the headers and small values; sometimes a whole word of garbage.
        if (next() % 4 === 0) new DataView(target.buffer).setUint32(at & ~3, next(), true);
        else target[at] = next() & 0xff;
      }
      if (i % 7 === 0) bytes.fill(0, next() % bytes.length); // truncate-ish
      try {
        const btf = parseBtf(bytes);
        for (let id = 1; id <= btf.typeCount; id++) {
          btf.type(id);
          typeToC(btf, id);
          try { sizeof(btf, id); } catch (e) { if (!(e instanceof BtfError)) throw e; }
          try { alignof(btf, id); } catch (e) { if (!(e instanceof BtfError)) throw e; }
        }
        btf.findByName('bits');
        parseBtfExt(ext, btf);
        marshalBtf(btf);
        parsed++;
      } catch (e) {
        if (!(e instanceof BtfError)) throw new Error(`mutation ${i}: ${(e as Error).stack}`);
        refused++;
      }
    }
    expect(parsed + refused).toBe(3000);
    expect(refused).toBeGreaterThan(100);
  });
});
