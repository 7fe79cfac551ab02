// struct bpf_insn: 8 bytes — code:8, dst_reg:4, src_reg:4, off:16, imm:32.
// An instruction stream is kept as raw bytes (what the ELF holds and what
// BPF_PROG_LOAD takes); this module reads, writes and builds instructions.

import {
  BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_JMP32, BPF_ALU64, BPF_W, BPF_H, BPF_B, BPF_DW, BPF_IMM, BPF_MEM,
  BPF_MEMSX, BPF_ATOMIC, BPF_K, BPF_X, BPF_ADD, BPF_MOV, BPF_CALL, BPF_EXIT, BPF_JA, BPF_JEQ,
} from '../uapi/defines.ts';
export {
  BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_JMP32, BPF_ALU64, BPF_W, BPF_H, BPF_B, BPF_DW, BPF_IMM, BPF_MEM,
  BPF_MEMSX, BPF_ATOMIC, BPF_K, BPF_X, BPF_ADD, BPF_MOV, BPF_CALL, BPF_EXIT, BPF_JA, BPF_JEQ,
};
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from '../uapi/defines.ts';
export {
  BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL,
} from '../uapi/defines.ts';

export const LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;
export const CALL = BPF_JMP | BPF_CALL;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const insnClass = (code: number): number => code & 0x07;

/** Read instruction `i` of a stream. */
export function readInsn(insns: Uint8Array, i: number): Insn {
  const dv = new DataView(insns.buffer, insns.byteOffset + i * 8, 8);
  const regs = dv.getUint8(1);
  return { code: dv.getUint8(0), dst: regs & 0x0f, src: regs >> 4, off: dv.getInt16(2, true), imm: dv.getInt32(4, true) };
}

/** Write instruction `i` of a stream. */
export function writeInsn(insns: Uint8Array, i: number, insn: Insn): void {
  const dv = new DataView(insns.buffer, insns.byteOffset + i * 8, 8);
  dv.setUint8(0, insn.code);
  dv.setUint8(1, (insn.dst & 0x0f) | ((insn.src & 0x0f) << 4));
  dv.setInt16(2, insn.off, true);
  dv.setInt32(4, insn.imm, true);
}

/** Encode a list of instructions into a stream. */
export function encodeInsns(list: Insn[]): Uint8Array {
  const out = new Uint8Array(list.length * 8);
  list.forEach((insn, i) => writeInsn(out, i, insn));
  return out;
}

const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

/** A tiny assembler, enough for hand-written test programs. */
export const asm = {
  mov64Imm: (dst: number, imm: number) => I(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm),
  mov64Reg: (dst: number, src: number) => I(BPF_ALU64 | BPF_MOV | BPF_X, dst, src),
  add64Imm: (dst: number, imm: number) => I(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm),
  exit: () => I(BPF_JMP | BPF_EXIT),
  call: (helper: number) => I(BPF_JMP | BPF_CALL, 0, 0, 0, helper),
  ja: (off: number) => I(BPF_JMP | BPF_JA, 0, 0, off),
  jeqImm: (dst: number, imm: number, off: number) => I(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm),
  /** ld_imm64 occupies two instruction slots. */
  ldImm64: (dst: number, value: bigint, src = 0): Insn[] => [
    I(LD_IMM64, dst, src, 0, Number(BigInt.asIntN(32, value))),
    I(0, 0, 0, 0, Number(BigInt.asIntN(32, value >> 32n))),
  ],
  ldMapFd: (dst: number, fd: number): Insn[] => [I(LD_IMM64, dst, BPF_PSEUDO_MAP_FD, 0, fd), I(0)],
  ldMapValue: (dst: number, fd: number, off: number): Insn[] => [I(LD_IMM64, dst, BPF_PSEUDO_MAP_VALUE, 0, fd), I(0, 0, 0, 0, off)],
  ldxMem: (size: number, dst: number, src: number, off: number) => I(BPF_LDX | BPF_MEM | size, dst, src, off),
  stxMem: (size: number, dst: number, src: number, off: number) => I(BPF_STX | BPF_MEM | size, dst, src, off),
  stMem: (size: number, dst: number, off: number, imm: number) => I(BPF_ST | BPF_MEM | size, dst, 0, off, imm),
  /** lock *(u64 *)(dst + off) += src */
  atomicAdd64: (dst: number, src: number, off: number) => I(BPF_STX | BPF_ATOMIC | BPF_DW, dst, src, off, BPF_ADD),
};
