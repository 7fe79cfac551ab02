// Hand-assembled reference producers for tests and benchmarks: small socket
// filters that write one record per run, so BPF_PROG_TEST_RUN with
// `repeat: N` produces N records deterministically on the calling CPU.
//
// Every producer keeps counters in an array map (one u64[4] value, key 0):
//   [0] seq        next sequence number (atomic fetch-add: safe with several producers)
//   [1] submitted  records committed (ringbuf) / output calls that succeeded (perf)
//   [2] discarded  records reserved then discarded (ringbuf)
//   [3] dropped    reserve/output calls that failed (ring full)
// and writes 16-byte records { u64 seq; u64 second } where `second` is
// seq * CHECK_MUL (a checksum) or bpf_ktime_get_ns() (timestamp variant).
import { BPF_ALU64, BPF_ATOMIC, BPF_DW, BPF_JMP, BPF_K, BPF_PSEUDO_MAP_FD, BPF_STX, type Insn, asm, encodeInsns } from '../../src/prog/insn.ts';
import { BPF_FETCH, BPF_JNE, BPF_MOD, BPF_MUL } from '../../src/uapi/index.ts';

export const CHECK_MUL = 0x7fffffed;
export const COUNTER_SEQ = 0;
export const COUNTER_SUBMITTED = 1;
export const COUNTER_DISCARDED = 2;
export const COUNTER_DROPPED = 3;


const FN_ktime_get_ns = 5;
const FN_perf_event_output = 25;
const FN_ringbuf_reserve = 131;
const FN_ringbuf_submit = 132;
const FN_ringbuf_discard = 133;

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;

const ins = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });
const mulImm = (dst: number, imm: number) => ins(BPF_ALU64 | BPF_MUL | BPF_K, dst, 0, 0, imm);
const modImm = (dst: number, imm: number) => ins(BPF_ALU64 | BPF_MOD | BPF_K, dst, 0, 0, imm);
const jneImm = (dst: number, imm: number, off: number) => ins(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
/** dst_val = atomic_fetch_add((u64 *)(dst + off), src) -> src */
const fetchAdd64 = (dst: number, src: number, off: number) => ins(BPF_STX | BPF_ATOMIC | BPF_DW, dst, src, off, 0x00 | BPF_FETCH);

/** A tiny label-resolving assembler: jumps name their target. */
class Prog {
  readonly list: (Insn | { label: string } | { jump: string; make: (off: number) => Insn })[] = [];
  emit(...xs: (Insn | Insn[])[]): this {
    for (const x of xs) Array.isArray(x) ? this.list.push(...x) : this.list.push(x);
    return this;
  }
  label(name: string): this {
    this.list.push({ label: name });
    return this;
  }
  jump(name: string, make: (off: number) => Insn): this {
    this.list.push({ jump: name, make });
    return this;
  }
  encode(): Uint8Array {
    const at = new Map<string, number>();
    let pc = 0;
    for (const x of this.list) if ('label' in x) at.set(x.label, pc); else pc++;
    const out: Insn[] = [];
    for (const x of this.list) {
      if ('label' in x) continue;
      if ('jump' in x) out.push(x.make(at.get(x.jump)! - out.length - 1));
      else out.push(x);
    }
    return encodeInsns(out);
  }
}

/** Count +1 at counters[index] (r7 = counters). Clobbers r1. */
const bump = (index: number): Insn[] => [asm.mov64Imm(R1, 1), asm.atomicAdd64(R7, R1, index * 8)];

export interface RingProducerOptions {
  /** Discard every k-th record (seq % k == 0); 0 = never. */
  discardEvery?: number;
  /** Second field = bpf_ktime_get_ns() instead of the checksum. */
  timestamp?: boolean;
}

/**
 * Ringbuf producer: reserve 16 bytes, fill, submit (or discard every k-th).
 * `countersFd` is the array map holding the counters (value size 32).
 */
export function ringbufProducer(ringFd: number, countersFd: number, opts: RingProducerOptions = {}): Uint8Array {
  const p = new Prog();
  p.emit(asm.ldMapValue(R7, countersFd, 0));
  p.emit(asm.mov64Imm(R8, 1), fetchAdd64(R7, R8, COUNTER_SEQ * 8)); // r8 = seq++
  p.emit(asm.ldMapFd(R1, ringFd), asm.mov64Imm(R2, 16), asm.mov64Imm(R3, 0), asm.call(FN_ringbuf_reserve));
  p.jump('drop', (off) => asm.jeqImm(R0, 0, off));
  p.emit(asm.stxMem(BPF_DW, R0, R8, 0));
  if (opts.timestamp) {
    p.emit(asm.mov64Reg(R9, R0), asm.call(FN_ktime_get_ns), asm.stxMem(BPF_DW, R9, R0, 8), asm.mov64Reg(R0, R9));
  } else {
    p.emit(asm.mov64Reg(R1, R8), mulImm(R1, CHECK_MUL), asm.stxMem(BPF_DW, R0, R1, 8));
  }
  if (opts.discardEvery && opts.discardEvery > 0) {
    p.emit(asm.mov64Reg(R1, R8), modImm(R1, opts.discardEvery));
    p.jump('discard', (off) => asm.jeqImm(R1, 0, off));
  }
  p.emit(asm.mov64Reg(R1, R0), asm.mov64Imm(R2, 0), asm.call(FN_ringbuf_submit), ...bump(COUNTER_SUBMITTED));
  p.jump('out', (off) => asm.ja(off));
  if (opts.discardEvery && opts.discardEvery > 0) {
    p.label('discard');
    p.emit(asm.mov64Reg(R1, R0), asm.mov64Imm(R2, 0), asm.call(FN_ringbuf_discard), ...bump(COUNTER_DISCARDED));
    p.jump('out', (off) => asm.ja(off));
  }
  p.label('drop');
  p.emit(...bump(COUNTER_DROPPED));
  p.label('out');
  p.emit(asm.mov64Imm(R0, 0), asm.exit());
  return p.encode();
}

/**
 * Perf-event-array producer: bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU,
 * &rec, 16) from the stack; a non-zero return (ring full) counts as dropped.
 */
export function perfProducer(perfMapFd: number, countersFd: number, opts: { timestamp?: boolean } = {}): Uint8Array {
  const p = new Prog();
  p.emit(asm.mov64Reg(R6, R1));
  p.emit(asm.ldMapValue(R7, countersFd, 0));
  p.emit(asm.mov64Imm(R8, 1), fetchAdd64(R7, R8, COUNTER_SEQ * 8));
  p.emit(asm.stxMem(BPF_DW, R10, R8, -16));
  if (opts.timestamp) p.emit(asm.call(FN_ktime_get_ns), asm.stxMem(BPF_DW, R10, R0, -8));
  else p.emit(asm.mov64Reg(R1, R8), mulImm(R1, CHECK_MUL), asm.stxMem(BPF_DW, R10, R1, -8));
  p.emit(
    asm.mov64Reg(R1, R6),
    asm.ldMapFd(R2, perfMapFd),
    asm.ldImm64(R3, 0xffffffffn), // BPF_F_CURRENT_CPU, and no skb bytes appended (upper 32 bits 0)
    asm.mov64Reg(R4, R10),
    asm.add64Imm(R4, -16),
    asm.mov64Imm(5, 16),
    asm.call(FN_perf_event_output),
  );
  p.jump('drop', (off) => jneImm(R0, 0, off));
  p.emit(...bump(COUNTER_SUBMITTED));
  p.jump('out', (off) => asm.ja(off));
  p.label('drop');
  p.emit(...bump(COUNTER_DROPPED));
  p.label('out');
  p.emit(asm.mov64Imm(R0, 0), asm.exit());
  return p.encode();
}

/** The ld_imm64 map references of a program, for re-targeting it at other map fds (the C benchmark does this). */
export function mapRefs(insns: Uint8Array): { index: number; src: number; fd: number }[] {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const refs: { index: number; src: number; fd: number }[] = [];
  for (let i = 0; i < insns.length / 8; i++) {
    if (dv.getUint8(i * 8) === 0x18) {
      const src = dv.getUint8(i * 8 + 1) >> 4;
      if (src === BPF_PSEUDO_MAP_FD || src === 2) refs.push({ index: i, src, fd: dv.getInt32(i * 8 + 4, true) });
      i++;
    }
  }
  return refs;
}
