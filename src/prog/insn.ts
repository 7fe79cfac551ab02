// struct bpf_insn: 8 bytes — code:8, dst_reg:4, src_reg:4, off:16, imm:32.
// An instruction stream is kept as raw bytes (what the ELF holds and what
// BPF_PROG_LOAD takes); this module reads, writes and builds instructions.

export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

export const BPF_IMM = 0x00;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

export const BPF_K = 0x00;
export const BPF_X = 0x08;

export const BPF_ADD = 0x00;
export const BPF_MOV = 0xb0;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JA = 0x00;

/** src_reg values of a BPF_LD|BPF_IMM|BPF_DW (ld_imm64) instruction */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
/** src_reg values of a BPF_JMP|BPF_CALL instruction */
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

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
  jeqImm: (dst: number, imm: number, off: number) => I(BPF_JMP | 0x10 | BPF_K, dst, 0, off, imm),
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
