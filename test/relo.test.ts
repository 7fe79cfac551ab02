// CO-RE relocation engine (src/relo): synthetic local/target BTF for every
// relocation kind, plus relocation of bpf/core.bpf.o against real kernel BTF
// (this machine's and Debian 6.1's), checked against bpftool and C libbpf.
import { describe, expect, it, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BtfBuilder } from '../src/btf/marshal.ts';
import { parseBtf, type Btf } from '../src/btf/parse.ts';
import { parseBtfExt } from '../src/btf/ext.ts';
import {
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_ARRAY, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_TYPEDEF, BTF_INT_SIGNED, BTF_INT_CHAR, type BtfMember,
} from '../src/btf/types.ts';
import { parseElf, sectionByName, STT_FUNC } from '../src/elf/index.ts';
import {
  relocateCore, describeRelo, explainPoison, CandidateCache, RelocationError, BpfCoreReloKind as K,
  POISON_HELPER_ID, essentialName, type CoreRelo, type CoreReloResult,
} from '../src/relo/index.ts';

// ---- a tiny BTF DSL -------------------------------------------------------

class Types {
  readonly b = new BtfBuilder();
  int(name: string, size: number, signed: boolean, char = false): number {
    return this.b.add({ kind: BTF_KIND_INT, name, size, encoding: (signed ? BTF_INT_SIGNED : 0) | (char ? BTF_INT_CHAR : 0), bitOffset: 0, bits: size * 8 });
  }
  ptr(type: number): number { return this.b.add({ kind: BTF_KIND_PTR, name: '', type }); }
  array(type: number, nelems: number): number { return this.b.add({ kind: BTF_KIND_ARRAY, name: '', type, indexType: 1, nelems }); }
  typedef(name: string, type: number): number { return this.b.add({ kind: BTF_KIND_TYPEDEF, name, type }); }
  /** members: [name, type, bitOffset, bitfieldSize?] */
  struct(name: string, size: number, members: [string, number, number, number?][], union = false): number {
    const ms: BtfMember[] = members.map(([n, type, bitOffset, bf]) => ({ name: n, type, bitOffset, bitfieldSize: bf ?? 0 }));
    const kindFlag = ms.some((m) => m.bitfieldSize > 0);
    return this.b.add({ kind: union ? BTF_KIND_UNION : BTF_KIND_STRUCT, name, size, kindFlag, members: ms } as never);
  }
  enum(name: string, values: [string, number][], signed = false, size = 4): number {
    return this.b.add({ kind: BTF_KIND_ENUM, name, size, signed, values: values.map(([n, value]) => ({ name: n, value })) });
  }
  enum64(name: string, values: [string, bigint][], signed = false): number {
    return this.b.add({ kind: BTF_KIND_ENUM64, name, size: 8, signed, values: values.map(([n, value]) => ({ name: n, value })) });
  }
  /** The id the next add() will return. */
  get next(): number { return this.b.typeCount + 1; }
  build(name: string): Btf { return this.b.build(name); }
}

// ---- instruction builders (struct bpf_insn, little-endian) ------------------

type Insn = [code: number, dst: number, src: number, off: number, imm: number];
const MOV64_IMM = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const ADD64_IMM = 0x07; // BPF_ALU64 | BPF_ADD | BPF_K
const MOV64_REG = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const LDX_W = 0x61, LDX_DW = 0x79, STX_W = 0x63, ST_W = 0x62;
const LD_IMM64 = 0x18, EXIT = 0x95, JA = 0x05;

function encode(insns: Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach(([code, dst, src, off, imm], i) => {
    dv.setUint8(i * 8, code); dv.setUint8(i * 8 + 1, (src << 4) | dst);
    dv.setInt16(i * 8 + 2, off, true); dv.setInt32(i * 8 + 4, imm, true);
  });
  return out;
}
function decode(bytes: Uint8Array, i: number): Insn {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = dv.getUint8(i * 8 + 1);
  return [dv.getUint8(i * 8), r & 0xf, r >> 4, dv.getInt16(i * 8 + 2, true), dv.getInt32(i * 8 + 4, true)];
}
const ldImm64 = (v: bigint): Insn[] => [
  [LD_IMM64, 1, 0, 0, Number(BigInt.asIntN(32, v))], [0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n))],
];
const poisonInsn: Insn = [0x85, 0, 0, 0, POISON_HELPER_ID];

// ---- the synthetic world ----------------------------------------------------

const L = new Types();
const lInt = L.int('int', 4, true);
const lUint = L.int('unsigned int', 4, false);
L.int('long', 8, true);
const lUlong = L.int('unsigned long', 8, false);
const lChar = L.int('char', 1, true, true);
const lTaskPtr = L.ptr(L.next + 3);
const lAnon = L.struct('', 8, [['a', lInt, 0], ['b', lUlong, 0]], true);
const lComm = L.array(lChar, 8);
const lTask = L.struct('task_struct', 48, [
  ['pid', lInt, 0], ['tgid', lInt, 32], ['parent', lTaskPtr, 64], ['flags', lUint, 128], ['', lAnon, 192],
  ['comm', lComm, 256], ['bf_a', lUint, 320, 3], ['bf_b', lInt, 323, 5], ['bf_c', lUint, 330, 2], ['counter', lInt, 352],
]);
const lPidType = L.enum('pid_type', [['PIDTYPE_PID', 0], ['PIDTYPE_TGID', 1], ['PIDTYPE_PGID', 2]]);
const lTaskV2 = L.struct('task_struct___v2', 8, [['pid', lInt, 0], ['new_name', lInt, 32]]);
const lGone = L.struct('gone', 4, [['x', lInt, 0]]);
const lFoo = L.struct('foo', 4, [['x', lInt, 0]]);
const lBig = L.enum64('big', [['BIG_A', 0x100000000n], ['BIG_B', 2n]]);
const lSgn = L.enum('sgn', [['NEG', -5]], true);
const lFlexArr = L.array(lInt, 0);
const lFlex = L.struct('flex', 4, [['n', lInt, 0], ['data', lFlexArr, 32]]);
const lPidT = L.typedef('pid_t', lInt);
const lMatch = L.struct('match_me', 16, [['a', lInt, 0], ['b', lUlong, 64]]);
const lMatchBad = L.struct('match_bad', 16, [['a', lInt, 0], ['b', lUlong, 64]]);
const lFar = L.struct('far', 4, [['x', lInt, 0]]);
const local = L.build('local');

const T = new Types();
const tInt = T.int('int', 4, true);
const tUint = T.int('unsigned int', 4, false);
const tLong = T.int('long', 8, true);
const tUlong = T.int('unsigned long', 8, false);
const tChar = T.int('char', 1, true, true);
T.struct('unrelated', 4, [['pid', tInt, 0]]);
const tTaskPtr = T.ptr(T.next + 3);
const tAnon = T.struct('', 8, [['a', tInt, 0], ['b', tUlong, 0]], true);
const tComm = T.array(tChar, 16);
const tTask = T.struct('task_struct', 72, [
  ['pid', tInt, 64], ['tgid', tInt, 96], ['parent', tTaskPtr, 128], ['flags', tUlong, 192], ['', tAnon, 256],
  ['comm', tComm, 320], ['bf_a', tUint, 453, 3], ['bf_b', tInt, 456, 6], ['bf_c', tUint, 476, 8], ['counter', tLong, 512],
  ['new_name', tInt, 544],
]);
const tPidType = T.enum('pid_type', [['PIDTYPE_PID', 0], ['PIDTYPE_PGID', 5]]);
T.struct('foo_renamed', 4, [['x', tInt, 0]]);
T.enum64('big', [['BIG_A', 0x200000000n]]);
T.enum('sgn', [['NEG', -7]], true);
const tFlexArr = T.array(tInt, 0);
T.struct('flex', 8, [['n', tInt, 0], ['pad', tInt, 32], ['data', tFlexArr, 64]]);
const tPidT = T.typedef('pid_t', tInt);
T.struct('match_me', 24, [['a', tInt, 0], ['b', tUlong, 64], ['extra', tInt, 128]]);
T.struct('match_bad', 16, [['a', tInt, 0], ['b', tLong, 64]]);
T.struct('far', 40004, [['pad', T.array(tChar, 40000), 0], ['x', tInt, 320000]]);
void tUint;
const target = T.build('target');

interface Run { results: CoreReloResult[]; insns: Uint8Array }
function run(relos: Omit<CoreRelo, 'insnOff'>[], insns: Insn[], opts: { at?: number[]; targetBtf?: Btf; cache?: CandidateCache } = {}): Run {
  const bytes = encode(insns);
  const results = relocateCore({
    localBtf: local, targetBtf: opts.targetBtf ?? target, insns: bytes, section: 'tp/test',
    relos: relos.map((r, i) => ({ ...r, insnOff: (opts.at?.[i] ?? i) * 8 })),
    progNameAt: () => 'test_prog', cache: opts.cache,
  });
  return { results, insns: bytes };
}
/** One relocation on one instruction: the result and the patched instruction. */
function one(kind: number, typeId: number, accessStr: string, insn: Insn | Insn[], targetBtf?: Btf): { r: CoreReloResult; insn: Insn; insns: Uint8Array } {
  const list = Array.isArray(insn[0]) ? (insn as Insn[]) : [insn as Insn];
  const { results, insns } = run([{ kind, typeId, accessStr }], [...list, [EXIT, 0, 0, 0, 0]], { targetBtf });
  return { r: results[0]!, insn: decode(insns, 0), insns };
}
function fails(kind: number, typeId: number, accessStr: string, insn: Insn | Insn[], re: RegExp, targetBtf?: Btf): RelocationError {
  try {
    one(kind, typeId, accessStr, insn, targetBtf);
  } catch (e) {
    expect(e).toBeInstanceOf(RelocationError);
    expect((e as Error).message).toMatch(re);
    return e as RelocationError;
  }
  throw new Error('expected a RelocationError');
}

// ---- tests --------------------------------------------------------------------

describe('relo: access strings and descriptions', () => {
  it('describes relocations in C-like syntax', () => {
    expect(describeRelo(local, { insnOff: 0, typeId: lTask, accessStr: '0:0', kind: K.BPF_CORE_FIELD_BYTE_OFFSET })).toBe('struct task_struct::pid (field byte offset)');
    expect(describeRelo(local, { insnOff: 0, typeId: lTask, accessStr: '0:4:1', kind: K.BPF_CORE_FIELD_BYTE_SIZE })).toBe('struct task_struct::b (field byte size)');
    expect(describeRelo(local, { insnOff: 0, typeId: lTask, accessStr: '0:5:3', kind: K.BPF_CORE_FIELD_BYTE_OFFSET })).toBe('struct task_struct::comm[3] (field byte offset)');
    expect(describeRelo(local, { insnOff: 0, typeId: lTask, accessStr: '2:1', kind: K.BPF_CORE_FIELD_BYTE_OFFSET })).toBe('struct task_struct[2]::tgid (field byte offset)');
    expect(describeRelo(local, { insnOff: 0, typeId: lPidType, accessStr: '2', kind: K.BPF_CORE_ENUMVAL_VALUE })).toBe('enum pid_type::PIDTYPE_PGID (enumval value)');
    expect(describeRelo(local, { insnOff: 0, typeId: lTask, accessStr: '0', kind: K.BPF_CORE_TYPE_SIZE })).toBe('struct task_struct (type size)');
    expect(essentialName('task_struct___v2')).toBe('task_struct');
    expect(essentialName('___GFP_IO_BIT')).toBe('___GFP_IO_BIT');
    expect(essentialName('a___b___c')).toBe('a___b');
  });

  it('rejects malformed access strings and out-of-range indexes', () => {
    fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0::1', [MOV64_IMM, 1, 0, 0, 0], /malformed/);
    fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:99', [MOV64_IMM, 1, 0, 0, 0], /member #99 .* does not exist/);
    fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:5:8', [MOV64_IMM, 1, 0, 0, 0], /out of bounds/);
    fails(K.BPF_CORE_TYPE_SIZE, lTask, '0:1', [MOV64_IMM, 1, 0, 0, 0], /expected "0"/);
    fails(K.BPF_CORE_ENUMVAL_VALUE, lPidType, '7', [MOV64_IMM, 1, 0, 0, 0], /does not name an enumerator/);
  });
});

describe('relo: FIELD_BYTE_OFFSET (0)', () => {
  it('moves an ALU immediate to the target offset', () => {
    const { r, insn } = one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:0', [ADD64_IMM, 1, 0, 0, 0]);
    expect(insn).toEqual([ADD64_IMM, 1, 0, 0, 8]);
    expect(r).toMatchObject({ oldValue: 0n, newValue: 8n, poisoned: false, program: 'test_prog', targetTypeIds: [tTask], description: 'struct task_struct::pid (field byte offset)' });
  });
  it('patches a load offset, through an anonymous union, and into arrays', () => {
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:1', [LDX_W, 1, 2, 4, 0]).insn).toEqual([LDX_W, 1, 2, 12, 0]);
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:4:1', [LDX_DW, 1, 2, 24, 0]).insn).toEqual([LDX_DW, 1, 2, 32, 0]);
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:5:3', [MOV64_IMM, 1, 0, 0, 35]).insn[4]).toBe(43);
    // array-of-root index: &tasks[1].tgid
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '1:1', [MOV64_IMM, 1, 0, 0, 52]).insn[4]).toBe(72 + 12);
    // flexible array member: past its zero length on both sides
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lFlex, '0:1:5', [MOV64_IMM, 1, 0, 0, 24]).insn[4]).toBe(8 + 20);
    // typedef'd root resolves through the typedef
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lPidT, '0', [MOV64_IMM, 1, 0, 0, 0]).r.targetTypeIds).toEqual([tPidT]);
  });
  it('stores and immediate stores are patched too', () => {
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:0', [STX_W, 2, 1, 0, 0]).insn).toEqual([STX_W, 2, 1, 8, 0]);
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:0', [ST_W, 2, 0, 0, 7]).insn).toEqual([ST_W, 2, 0, 8, 7]);
  });
  it('widens a load when an unsigned field grew (u32 -> u64)', () => {
    const { r, insn } = one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:3', [LDX_W, 1, 2, 16, 0]);
    expect(insn).toEqual([LDX_DW, 1, 2, 24, 0]);
    expect(r.memSize).toEqual({ from: 4, to: 8 });
  });
  it('poisons a load whose signed field changed size (int -> long)', () => {
    const { r, insn } = one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:9', [LDX_W, 1, 2, 44, 0]);
    expect(r.poisoned).toBe(true);
    expect(r.poisonReason).toMatch(/size changed from 4 to 8/);
    expect(insn).toEqual(poisonInsn);
  });
  it('an ALU use of the same size-changed field is just patched (libbpf checks sizes for loads/stores only)', () => {
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:9', [MOV64_IMM, 1, 0, 0, 44]).insn[4]).toBe(64);
  });
  it('poisons a missing field (only reachable code fails)', () => {
    const { r, insn } = one(K.BPF_CORE_FIELD_BYTE_OFFSET, lFoo, '0:0', [LDX_W, 1, 2, 0, 0]);
    expect(r).toMatchObject({ poisoned: true, oldValue: undefined, targetTypeIds: [] });
    expect(r.poisonReason).toMatch(/no struct named "foo"/);
    expect(insn).toEqual(poisonInsn);
  });
  it('refuses an instruction that does not hold the local offset', () => {
    const e = fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:1', [LDX_W, 1, 2, 8, 0], /unexpected instruction value: LDX offset is 8, the local BTF says 4/);
    expect(e.details).toMatchObject({ code: 'EINVAL', insnIdx: 0, section: 'tp/test', program: 'test_prog' });
    expect(e.message).toMatch(/struct task_struct::tgid \(field byte offset\)/);
    fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:1', [MOV64_IMM, 1, 0, 0, 5], /ALU imm is 5/);
  });
  it('refuses offsets that do not fit a load (ERANGE) and instructions CO-RE cannot patch', () => {
    expect(fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lFar, '0:0', [LDX_W, 1, 2, 0, 0], /does not fit/).details.code).toBe('ERANGE');
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lFar, '0:0', [MOV64_IMM, 1, 0, 0, 0]).insn[4]).toBe(40000);
    fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:0', [MOV64_REG, 1, 2, 0, 0], /register source/);
    fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:0', [JA, 0, 0, 0, 0], /cannot carry a CO-RE relocation/);
  });
  it('resolves a flavored local type (task_struct___v2) against the plain kernel type', () => {
    const { r } = one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTaskV2, '0:1', [MOV64_IMM, 1, 0, 0, 4]);
    expect(r).toMatchObject({ newValue: 68n, targetTypeIds: [tTask], description: 'struct task_struct___v2::new_name (field byte offset)' });
  });
  it('moved bitfields: the byte offset of the containing load follows', () => {
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:6', [MOV64_IMM, 1, 0, 0, 40]).r.newValue).toBe(56n);
    // bitfield values are not validated (the compiler may pick another load)
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:6', [MOV64_IMM, 1, 0, 0, 1234]).r.newValue).toBe(56n);
  });
});

describe('relo: FIELD_BYTE_SIZE (1)', () => {
  it('gives the target size (plain, array element, bitfield load)', () => {
    expect(one(K.BPF_CORE_FIELD_BYTE_SIZE, lTask, '0:3', [MOV64_IMM, 1, 0, 0, 4]).insn[4]).toBe(8);
    expect(one(K.BPF_CORE_FIELD_BYTE_SIZE, lTask, '0:5', [MOV64_IMM, 1, 0, 0, 8]).insn[4]).toBe(16);
    expect(one(K.BPF_CORE_FIELD_BYTE_SIZE, lTask, '0:5:1', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(1);
    // bf_c: 2 bits in a u32 locally; 8 bits straddling a u32 boundary on the target -> an 8-byte load
    expect(one(K.BPF_CORE_FIELD_BYTE_SIZE, lTask, '0:8', [MOV64_IMM, 1, 0, 0, 4]).insn[4]).toBe(8);
  });
  it('poisons when the field is missing', () => {
    expect(one(K.BPF_CORE_FIELD_BYTE_SIZE, lTaskV2, '0:0', [MOV64_IMM, 1, 0, 0, 4]).r.poisoned).toBe(false);
    expect(one(K.BPF_CORE_FIELD_BYTE_SIZE, lGone, '0:0', [MOV64_IMM, 1, 0, 0, 4]).insn).toEqual(poisonInsn);
  });
});

describe('relo: FIELD_EXISTS (2)', () => {
  it('is 1 when the field exists, 0 (not poison) when it does not', () => {
    expect(one(K.BPF_CORE_FIELD_EXISTS, lTask, '0:4:1', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(1);
    const { r, insn } = one(K.BPF_CORE_FIELD_EXISTS, lGone, '0:0', [MOV64_IMM, 1, 0, 0, 1]);
    expect(r.poisoned).toBe(false);
    expect(insn).toEqual([MOV64_IMM, 1, 0, 0, 0]);
    // renamed type: no candidate at all
    expect(one(K.BPF_CORE_FIELD_EXISTS, lFoo, '0:0', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(0);
  });
});

describe('relo: FIELD_SIGNED (3)', () => {
  it('reports signedness of ints, bitfields and signed enums', () => {
    expect(one(K.BPF_CORE_FIELD_SIGNED, lTask, '0:0', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(1);
    expect(one(K.BPF_CORE_FIELD_SIGNED, lTask, '0:3', [MOV64_IMM, 1, 0, 0, 0]).insn[4]).toBe(0);
    expect(one(K.BPF_CORE_FIELD_SIGNED, lTask, '0:7', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(1);
  });
  it('signedness is validated even for bitfields, and missing fields poison', () => {
    fails(K.BPF_CORE_FIELD_SIGNED, lTask, '0:6', [MOV64_IMM, 1, 0, 0, 1], /ALU imm is 1, the local BTF says 0/);
    expect(one(K.BPF_CORE_FIELD_SIGNED, lGone, '0:0', [MOV64_IMM, 1, 0, 0, 1]).r.poisoned).toBe(true);
  });
  it('cannot be applied to an array element', () => {
    fails(K.BPF_CORE_FIELD_SIGNED, lTask, '0:5:1', [MOV64_IMM, 1, 0, 0, 1], /array element/);
  });
});

describe('relo: FIELD_LSHIFT_U64 (4) / FIELD_RSHIFT_U64 (5)', () => {
  it('computes shifts for a moved and resized bitfield', () => {
    expect(one(K.BPF_CORE_FIELD_LSHIFT_U64, lTask, '0:6', [MOV64_IMM, 1, 0, 0, 61]).insn[4]).toBe(56);
    expect(one(K.BPF_CORE_FIELD_RSHIFT_U64, lTask, '0:6', [MOV64_IMM, 1, 0, 0, 61]).insn[4]).toBe(61);
    expect(one(K.BPF_CORE_FIELD_LSHIFT_U64, lTask, '0:7', [MOV64_IMM, 1, 0, 0, 56]).insn[4]).toBe(50);
    expect(one(K.BPF_CORE_FIELD_RSHIFT_U64, lTask, '0:7', [MOV64_IMM, 1, 0, 0, 59]).insn[4]).toBe(58);
    // a non-bitfield: lshift = 64 - size*8, rshift likewise
    expect(one(K.BPF_CORE_FIELD_LSHIFT_U64, lTask, '0:3', [MOV64_IMM, 1, 0, 0, 32]).insn[4]).toBe(0);
    expect(one(K.BPF_CORE_FIELD_RSHIFT_U64, lTask, '0:3', [MOV64_IMM, 1, 0, 0, 32]).insn[4]).toBe(0);
  });
  it('validates the right shift, poisons when missing', () => {
    fails(K.BPF_CORE_FIELD_RSHIFT_U64, lTask, '0:6', [MOV64_IMM, 1, 0, 0, 60], /ALU imm is 60, the local BTF says 61/);
    expect(one(K.BPF_CORE_FIELD_LSHIFT_U64, lGone, '0:0', [MOV64_IMM, 1, 0, 0, 32]).insn).toEqual(poisonInsn);
    expect(one(K.BPF_CORE_FIELD_RSHIFT_U64, lGone, '0:0', [MOV64_IMM, 1, 0, 0, 32]).insn).toEqual(poisonInsn);
  });
});

describe('relo: type-based kinds', () => {
  it('TYPE_ID_LOCAL (6): the local id, no candidate needed', () => {
    expect(one(K.BPF_CORE_TYPE_ID_LOCAL, lGone, '0', [MOV64_IMM, 1, 0, 0, 999]).insn[4]).toBe(lGone);
    fails(K.BPF_CORE_TYPE_ID_LOCAL, lGone, '0:0', [MOV64_IMM, 1, 0, 0, 999], /expected "0"/);
  });
  it('TYPE_ID_TARGET (7): the target id (not validated); 0 when missing', () => {
    expect(one(K.BPF_CORE_TYPE_ID_TARGET, lTask, '0', ldImm64(12345n)).r.newValue).toBe(BigInt(tTask));
    expect(one(K.BPF_CORE_TYPE_ID_TARGET, lTaskV2, '0', [MOV64_IMM, 1, 0, 0, lTaskV2]).insn[4]).toBe(tTask);
    const { r, insn } = one(K.BPF_CORE_TYPE_ID_TARGET, lGone, '0', [MOV64_IMM, 1, 0, 0, lGone]);
    expect(r.poisoned).toBe(false);
    expect(insn[4]).toBe(0);
  });
  it('TYPE_EXISTS (8): 1 / 0', () => {
    expect(one(K.BPF_CORE_TYPE_EXISTS, lTask, '0', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(1);
    expect(one(K.BPF_CORE_TYPE_EXISTS, lFoo, '0', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(0);
    fails(K.BPF_CORE_TYPE_EXISTS, lTask, '0', [MOV64_IMM, 1, 0, 0, 0], /ALU imm is 0, the local BTF says 1/);
  });
  it('TYPE_SIZE (9): the target size, 0 when missing', () => {
    const { r, insns } = one(K.BPF_CORE_TYPE_SIZE, lTask, '0', ldImm64(48n));
    expect(r.newValue).toBe(72n);
    expect(decode(insns, 0)[4]).toBe(72);
    expect(decode(insns, 1)[4]).toBe(0);
    expect(one(K.BPF_CORE_TYPE_SIZE, lGone, '0', [MOV64_IMM, 1, 0, 0, 4]).insn[4]).toBe(0);
    fails(K.BPF_CORE_TYPE_SIZE, lTask, '0', [MOV64_IMM, 1, 0, 0, 40], /ALU imm is 40, the local BTF says 48/);
  });
  it('TYPE_MATCHES (12): layout-compatible 1, changed member type 0', () => {
    expect(one(K.BPF_CORE_TYPE_MATCHES, lMatch, '0', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(1);
    expect(one(K.BPF_CORE_TYPE_MATCHES, lMatchBad, '0', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(0);
    expect(one(K.BPF_CORE_TYPE_MATCHES, lGone, '0', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(0);
  });
});

describe('relo: enum value kinds', () => {
  it('ENUMVAL_EXISTS (10): 1 / 0 for a missing enumerator', () => {
    expect(one(K.BPF_CORE_ENUMVAL_EXISTS, lPidType, '2', [MOV64_IMM, 1, 0, 0, 1]).insn[4]).toBe(1);
    const { r, insns } = one(K.BPF_CORE_ENUMVAL_EXISTS, lPidType, '1', ldImm64(1n));
    expect(r.poisoned).toBe(false);
    expect(decode(insns, 0)[4]).toBe(0);
  });
  it('ENUMVAL_VALUE (11): changed value, 64-bit enums, signed enums', () => {
    expect(one(K.BPF_CORE_ENUMVAL_VALUE, lPidType, '2', [MOV64_IMM, 1, 0, 0, 2]).insn[4]).toBe(5);
    const big = one(K.BPF_CORE_ENUMVAL_VALUE, lBig, '0', ldImm64(0x100000000n));
    expect(big.r.newValue).toBe(0x200000000n);
    expect([decode(big.insns, 0)[4], decode(big.insns, 1)[4]]).toEqual([0, 2]);
    const sgn = one(K.BPF_CORE_ENUMVAL_VALUE, lSgn, '0', [MOV64_IMM, 1, 0, 0, -5]);
    expect(sgn.insn[4]).toBe(-7);
    expect(sgn.r.newValue).toBe(BigInt.asUintN(64, -7n));
    fails(K.BPF_CORE_ENUMVAL_VALUE, lBig, '0', ldImm64(1n), /ld_imm64 holds 1, the local BTF says 4294967296/);
  });
  it('ENUMVAL_VALUE poisons a missing enumerator, both slots of an ld_imm64', () => {
    const { r, insns } = one(K.BPF_CORE_ENUMVAL_VALUE, lPidType, '1', ldImm64(1n));
    expect(r.poisoned).toBe(true);
    expect(decode(insns, 0)).toEqual(poisonInsn);
    expect(decode(insns, 1)).toEqual(poisonInsn);
    expect(one(K.BPF_CORE_ENUMVAL_VALUE, lBig, '1', [MOV64_IMM, 1, 0, 0, 2]).insn).toEqual(poisonInsn);
  });
});

describe('relo: candidates', () => {
  const amb = new Types();
  const aInt = amb.int('int', 4, true);
  const a1 = amb.struct('task_struct', 8, [['pid', aInt, 0]]);
  const a2 = amb.struct('task_struct___2', 8, [['pid', aInt, 32]]);
  const a3 = amb.struct('task_struct___3', 8, [['x', aInt, 0], ['pid', aInt, 0]]);
  const ambiguous = amb.build('ambiguous');

  it('rejects candidates that disagree, naming them', () => {
    const e = fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:0', [MOV64_IMM, 1, 0, 0, 0], /ambiguous/, ambiguous);
    expect(e.message).toContain(`[${a1}] struct task_struct::pid (0:0 @ offset 0)`);
    expect(e.message).toContain(`[${a2}] struct task_struct___2::pid (0:0 @ offset 4)`);
  });
  const agr = new Types();
  const gInt = agr.int('int', 4, true);
  const g1 = agr.struct('task_struct', 8, [['pid', gInt, 0]]);
  const g2 = agr.struct('task_struct___2', 8, [['pid', gInt, 0], ['tgid', gInt, 32]]);
  const agree = agr.build('agree');

  it('accepts several candidates that agree (flavored target names included)', () => {
    const { r } = one(K.BPF_CORE_FIELD_BYTE_OFFSET, lTask, '0:0', [MOV64_IMM, 1, 0, 0, 0], agree);
    expect(r.newValue).toBe(0n);
    expect(r.targetTypeIds).toEqual([g1, g2]);
  });
  it('libbpf checks offsets agree even for existence relocations', () => {
    fails(K.BPF_CORE_FIELD_EXISTS, lTask, '0:0', [MOV64_IMM, 1, 0, 0, 1], /ambiguous/, ambiguous);
    void a3;
  });
  it('memoizes candidate lists per local type and narrows them to the ones that matched, as libbpf does', () => {
    const cache = new CandidateCache();
    const { results } = run([
      { kind: K.BPF_CORE_FIELD_BYTE_OFFSET, typeId: lTask, accessStr: '0:0' },
      { kind: K.BPF_CORE_TYPE_SIZE, typeId: lTask, accessStr: '0' },
      { kind: K.BPF_CORE_FIELD_BYTE_OFFSET, typeId: lTaskV2, accessStr: '0:0' },
      { kind: K.BPF_CORE_FIELD_BYTE_OFFSET, typeId: lTask, accessStr: '0:1' },
    ], [[MOV64_IMM, 1, 0, 0, 0], [MOV64_IMM, 1, 0, 0, 48], [MOV64_IMM, 1, 0, 0, 0], [MOV64_IMM, 1, 0, 0, 4]], { cache });
    expect(results.map((r) => r.newValue)).toEqual([8n, 72n, 8n, 12n]);
    expect(cache.searches).toBe(2);

    const c2 = new CandidateCache();
    expect(c2.get(local, lTask, agree).map((c) => c.id)).toEqual([g1, g2]);
    // only task_struct___2 has tgid: from then on it is the only candidate for local task_struct
    run([{ kind: K.BPF_CORE_FIELD_EXISTS, typeId: lTask, accessStr: '0:1' }], [[MOV64_IMM, 1, 0, 0, 1]], { targetBtf: agree, cache: c2 });
    expect(c2.get(local, lTask, agree).map((c) => c.id)).toEqual([g2]);
    const { results: r2 } = run([{ kind: K.BPF_CORE_TYPE_SIZE, typeId: lTask, accessStr: '0' }], [[MOV64_IMM, 1, 0, 0, 48]], { targetBtf: agree, cache: c2 });
    expect(r2[0]!.targetTypeIds).toEqual([g2]);
    expect(c2.searches).toBe(1);
  });
  it('a renamed type has no candidate: field access poisoned, existence 0', () => {
    expect(one(K.BPF_CORE_FIELD_BYTE_OFFSET, lFoo, '0:0', [MOV64_IMM, 1, 0, 0, 0]).r.poisoned).toBe(true);
    expect(one(K.BPF_CORE_TYPE_EXISTS, lFoo, '0', [MOV64_IMM, 1, 0, 0, 1]).r.newValue).toBe(0n);
  });
  it('anonymous root types cannot be searched for', () => {
    fails(K.BPF_CORE_FIELD_BYTE_OFFSET, lAnon, '0:0', [MOV64_IMM, 1, 0, 0, 0], /anonymous/);
  });
});

describe('relo: explainPoison', () => {
  it('names the relocation behind a reached poisoned instruction', () => {
    const { results } = run([
      { kind: K.BPF_CORE_FIELD_BYTE_OFFSET, typeId: lTask, accessStr: '0:0' },
      { kind: K.BPF_CORE_FIELD_BYTE_OFFSET, typeId: lGone, accessStr: '0:0' },
      { kind: K.BPF_CORE_ENUMVAL_VALUE, typeId: lPidType, accessStr: '1' },
    ], [[LDX_W, 1, 2, 0, 0], [LDX_W, 1, 2, 0, 0], ...ldImm64(1n), [EXIT, 0, 0, 0, 0]], { at: [0, 1, 2] });
    const log = 'func#0 @0\n0: R1=ctx() R10=fp0\n0: (61) r1 = *(u32 *)(r2 +8)\n1: (85) call unknown#195896080\ninvalid func unknown#195896080\nprocessed 2 insns';
    expect(explainPoison(log, results)).toMatch(/^struct gone::x \(field byte offset\) \[access string "[\d:]+"\] could not be resolved against this kernel$/);
    // the loader's mapping from section to program instruction indexes (here: program starts at section insn 1)
    expect(explainPoison(log, results, (r) => r.insnIdx - 1)).toMatch(/^enum pid_type::PIDTYPE_TGID \(enumval value\) \[access string "\d+"\] could not be resolved against this kernel$/);
    expect(explainPoison('R1 invalid mem access', results)).toBeUndefined();
  });
});

// ---- real BTF: bpf/core.bpf.o against kernel BTF ------------------------------

const OBJ = join(import.meta.dirname, '..', 'bpf', 'core.bpf.o');
const VMLINUX = '/sys/kernel/btf/vmlinux';

interface Obj { local: Btf; sections: { name: string; relos: CoreRelo[]; insns: Uint8Array; funcs: { name: string; start: number; end: number }[] }[] }
function loadObj(): Obj {
  const elf = parseElf(new Uint8Array(readFileSync(OBJ)));
  const local = parseBtf(sectionByName(elf, '.BTF')!.data, { name: 'core.bpf.o' });
  const ext = parseBtfExt(sectionByName(elf, '.BTF.ext')!.data, local);
  return {
    local,
    sections: ext.coreRelos.map((s) => {
      const sec = sectionByName(elf, s.secName)!;
      const funcs = elf.symbols.filter((y) => y.shndx === sec.index && y.type === STT_FUNC)
        .map((y) => ({ name: y.name, start: y.value / 8, end: (y.value + y.size) / 8 }));
      return { name: s.secName, relos: s.records, insns: new Uint8Array(sec.data), funcs };
    }),
  };
}
interface Relocated { results: CoreReloResult[]; ms: number; obj: Obj }
function relocateObj(targetBtf: Btf): Relocated {
  const obj = loadObj();
  const cache = new CandidateCache();
  const t0 = performance.now();
  const results = obj.sections.flatMap((s) => relocateCore({
    localBtf: obj.local, targetBtf, relos: s.relos, insns: s.insns, section: s.name, cache,
    progNameAt: (i) => s.funcs.find((f) => i >= f.start && i < f.end)?.name,
  }));
  return { results, ms: performance.now() - t0, obj };
}

/** Member byte offsets of STRUCT `name` as `bpftool btf dump file` prints them. */
const dumps = new Map<string, string>();
function bpftoolOffsets(btfPath: string, name: string): Map<string, number> {
  let out = dumps.get(btfPath);
  if (out === undefined) dumps.set(btfPath, (out = execFileSync('bpftool', ['btf', 'dump', 'file', btfPath], { maxBuffer: 1 << 30, encoding: 'utf8' })));
  const at = out.indexOf(`] STRUCT '${name}' size=`);
  const m = new Map<string, number>();
  for (const line of out.slice(at).split('\n').slice(1)) {
    const r = /^\t'([^']*)' type_id=\d+ bits_offset=(\d+)/.exec(line);
    if (!r) break;
    m.set(r[1]!, Number(r[2]) / 8);
  }
  return m;
}

function have(cmd: string, args: string[] = ['--version']): boolean {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true; } catch { return false; }
}

/**
 * C libbpf as the oracle: load the object with libbpf's debug log on and read
 * back what it did to each CO-RE-relocated instruction ("relo #N: patched insn
 * #I (ALU/ALU64) imm A -> B", "substituting insn #I w/ invalid insn").
 */
const ORACLE_C = `
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdarg.h>
static int print_fn(enum libbpf_print_level l, const char *f, va_list a) { (void)l; return vfprintf(stdout, f, a); }
int main(int argc, char **argv) {
  libbpf_set_print(print_fn);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = argc > 2 ? argv[2] : NULL);
  struct bpf_object *obj = bpf_object__open_file(argv[1], &opts);
  if (!obj) return 1;
  printf("LOAD %d\\n", bpf_object__load(obj));
  bpf_object__close(obj);
  return 0;
}
`;
let oracleBin: string | undefined;
function oracle(): string | undefined {
  if (oracleBin !== undefined) return oracleBin || undefined;
  oracleBin = '';
  if (!existsSync('/usr/include/bpf/libbpf.h') || !have('gcc')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'relo-oracle-'));
  writeFileSync(join(dir, 'oracle.c'), ORACLE_C);
  try {
    execFileSync('gcc', ['-O2', '-o', join(dir, 'oracle'), join(dir, 'oracle.c'), '-lbpf', '-lelf', '-lz'], { stdio: 'ignore' });
    oracleBin = join(dir, 'oracle');
  } catch { /* no libbpf to link against */ }
  return oracleBin || undefined;
}
interface LibbpfPatch { prog: string; relo: number; insn: number; what: string; from?: bigint; to?: bigint }
function libbpfPatches(btfPath?: string): LibbpfPatch[] {
  const out = execFileSync(oracle()!, btfPath ? [OBJ, btfPath] : [OBJ], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const list: LibbpfPatch[] = [];
  for (const line of out.split('\n')) {
    let m = /prog '([^']+)': relo #(\d+): patched insn #(\d+) \(([^)]+)\) (?:imm64|imm|off) (\d+) -> (\d+)/.exec(line);
    if (m) { list.push({ prog: m[1]!, relo: +m[2]!, insn: +m[3]!, what: m[4]!, from: BigInt(m[5]!), to: BigInt(m[6]!) }); continue; }
    m = /prog '([^']+)': relo #(\d+): substituting insn #(\d+) w\/ invalid insn/.exec(line);
    if (m) list.push({ prog: m[1]!, relo: +m[2]!, insn: +m[3]!, what: 'poison' });
  }
  return list;
}
/** Our results in libbpf's terms (program-relative instruction index). */
function ourPatches(r: Relocated): LibbpfPatch[] {
  const list: LibbpfPatch[] = [];
  for (const x of r.results) {
    const s = r.obj.sections.find((s) => s.name === x.section)!;
    const f = s.funcs.find((f) => x.insnIdx >= f.start && x.insnIdx < f.end)!;
    const insn = x.insnIdx - f.start;
    if (x.poisoned) {
      list.push({ prog: f.name, relo: x.reloIdx, insn, what: 'poison' });
    } else {
      const cls = decode(s.insns, x.insnIdx)[0] & 7;
      const what = cls === 0 ? 'LDIMM64' : cls === 4 || cls === 7 ? 'ALU/ALU64' : 'LDX/ST/STX';
      list.push({ prog: f.name, relo: x.reloIdx, insn, what, from: x.oldValue!, to: x.newValue });
    }
  }
  return list;
}
function normalize(list: LibbpfPatch[]): string[] {
  // libbpf poisons ld_imm64's second slot too (insn #I+1 then #I): keep one line per relocation.
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of list) {
    const key = `${p.prog} #${p.relo}`;
    if (p.what === 'poison' && seen.has(key)) continue;
    seen.add(key);
    out.push(p.what === 'poison' ? `${key} poison` : `${key} insn ${p.insn} ${p.what} ${p.from} -> ${p.to}`);
  }
  return out.sort();
}

const objSkip = existsSync(OBJ) ? false : 'bpf/core.bpf.o is missing (make -C bpf)';
const vmlinuxSkip = objSkip || (existsSync(VMLINUX) ? false : `${VMLINUX} is missing (kernel without CONFIG_DEBUG_INFO_BTF)`);

describe.skipIf(vmlinuxSkip)('relo: bpf/core.bpf.o against this kernel', () => {
  let vmlinux: Btf;
  let r: Relocated;
  beforeAll(() => {
    vmlinux = parseBtf(new Uint8Array(readFileSync(VMLINUX)), { name: 'vmlinux' });
    r = relocateObj(vmlinux);
  });

  it('relocates every record, in a few ms', () => {
    expect(r.results.length).toBeGreaterThanOrEqual(64);
    const structs = new Set(r.results.map((x) => x.description.split('::')[0]));
    expect(structs.size).toBeGreaterThanOrEqual(15);
    // speed: fresh cache, warm code (the first run above paid for JIT and the name indexes)
    const times = Array.from({ length: 5 }, () => relocateObj(vmlinux).ms);
    const best = Math.min(...times);
    console.log(`relo: ${r.results.length} relocations against vmlinux: first ${r.ms.toFixed(2)} ms, then best ${best.toFixed(2)} ms`);
    expect(best).toBeLessThan(50);
  });

  it('agrees with bpftool on task_struct member offsets', () => {
    const offs = bpftoolOffsets(VMLINUX, 'task_struct');
    for (const field of ['pid', 'tgid', 'real_parent', 'parent', 'group_leader', 'flags', 'comm', 'mm', 'cred', 'real_cred', 'start_time']) {
      const hit = r.results.find((x) => x.description === `struct task_struct::${field} (field byte offset)`);
      expect(hit, field).toBeDefined();
      expect(hit!.newValue, field).toBe(BigInt(offs.get(field)!));
    }
  });

  it('guarded relocations: missing fields are 0 or poisoned, present ones resolve', () => {
    const by = (d: string) => r.results.filter((x) => x.description === d);
    expect(by('struct task_struct___old::state (field exists)')[0]!.newValue).toBe(0n);
    expect(by('struct task_struct___old::state (field byte offset)')[0]!.poisoned).toBe(true);
    expect(by('struct task_struct::__state (field exists)')[0]!.newValue).toBe(1n);
    expect(by('struct tsbpf_no_such_type (type exists)')[0]!.newValue).toBe(0n);
    expect(by('enum pid_type___tsbpf::PIDTYPE_TSBPF_MISSING (enumval exists)')[0]!.newValue).toBe(0n);
    const tid = by('struct task_struct (target type id)')[0]!;
    expect(tid.newValue).toBe(BigInt(vmlinux.findByNameKind('task_struct', BTF_KIND_STRUCT)));
  });

  it.skipIf(!oracle() && 'gcc or libbpf-dev is missing: no C libbpf oracle')('patches every instruction exactly as C libbpf does', () => {
    expect(normalize(ourPatches(r))).toEqual(normalize(libbpfPatches()));
  });
});

/** Debian 6.1's vmlinux, unpacked by the VM harness into .cache/vm/<pkg>/vmlinux. */
function find61(): string | undefined {
  const root = join(import.meta.dirname, '..', '.cache', 'vm');
  if (!existsSync(root)) return undefined;
  for (const d of readdirSync(root)) {
    const p = join(root, d, 'vmlinux');
    if (d.includes('6.1.') && existsSync(p)) return p;
  }
  return undefined;
}
const vm61 = find61();
const skip61 = objSkip || (!vm61 ? 'no Debian 6.1 vmlinux under .cache/vm (the VM harness downloads it)'
  : !have('llvm-objcopy-19') ? 'llvm-objcopy-19 is missing (apt-get install llvm-19)' : false);

describe.skipIf(skip61)('relo: bpf/core.bpf.o against Debian 6.1 BTF', () => {
  let btfPath: string;
  let k61: Btf;
  let r: Relocated;
  beforeAll(() => {
    btfPath = join(mkdtempSync(join(tmpdir(), 'relo-61-')), 'vmlinux-6.1.btf');
    execFileSync('llvm-objcopy-19', ['--dump-section', `.BTF=${btfPath}`, vm61!, join(tmpdir(), `relo-61-discard-${process.pid}`)]);
    k61 = parseBtf(new Uint8Array(readFileSync(btfPath)), { name: 'vmlinux-6.1' });
    r = relocateObj(k61);
  });

  it("gives 6.1's offsets (as bpftool reads them from the 6.1 BTF)", () => {
    const offs = bpftoolOffsets(btfPath, 'task_struct');
    const rp = r.results.find((x) => x.description === 'struct task_struct::real_parent (field byte offset)')!;
    expect(rp.newValue).toBe(BigInt(offs.get('real_parent')!));
    for (const field of ['pid', 'tgid', 'comm', 'mm', 'cred', 'flags'])
      expect(r.results.find((x) => x.description === `struct task_struct::${field} (field byte offset)`)!.newValue, field).toBe(BigInt(offs.get(field)!));
    if (existsSync(VMLINUX)) {
      const here = bpftoolOffsets(VMLINUX, 'task_struct');
      expect(here.get('real_parent'), 'real_parent moved between 6.1 and this kernel').not.toBe(offs.get('real_parent'));
    }
  });

  it.skipIf(!oracle() && 'gcc or libbpf-dev is missing: no C libbpf oracle')('patches every instruction exactly as C libbpf does with btf_custom_path', () => {
    expect(normalize(ourPatches(r))).toEqual(normalize(libbpfPatches(btfPath)));
  });
});
