// bpf_core_patch_insn: write a relocation's value into its instruction, after
// checking the instruction holds what the compiler was expected to emit.
//   ALU/ALU64 with an immediate (BPF_K): imm
//   LDX/ST/STX: off (and the access size when the field's size changed)
//   LD_IMM64: the 64-bit immediate spread over two slots
// Poisoning replaces the instruction (both slots of an ld_imm64) with a call to
// helper 0xbad2310: harmless in dead code, "invalid func unknown#195896080" if reached.
import type { CoreReloRes } from './calc.ts';
import { CoreError } from './types.ts';

// Opcode fields as the rest of tsbpf names them (struct bpf_insn lives in src/prog/insn.ts).
import { BPF_ALU, BPF_ALU64, BPF_B, BPF_CALL, BPF_DW, BPF_H, BPF_IMM, BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_W } from '../prog/insn.ts';
import { BPF_INSN_SIZE } from '../prog/types.ts';
export const BPF_INSN_SZ = BPF_INSN_SIZE;
/** The helper id of a poisoned instruction: 0xbad2310, "bad relo". */
export const POISON_HELPER_ID = 195896080;
const LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;
const SHRT_MAX = 32767n;

export const bpfClass = (code: number): number => code & 0x07;
const bpfSize = (code: number): number => code & 0x18;
const bpfMode = (code: number): number => code & 0xe0;
const bpfSrc = (code: number): number => code & 0x08;

function sizeToBytes(code: number): number {
  switch (bpfSize(code)) {
    case BPF_DW: return 8;
    case BPF_W: return 4;
    case BPF_H: return 2;
    case BPF_B: return 1;
    default: return -1;
  }
}
function bytesToSize(n: number): number {
  switch (n) {
    case 8: return BPF_DW;
    case 4: return BPF_W;
    case 2: return BPF_H;
    case 1: return BPF_B;
    default: return -1;
  }
}

// One instruction slot, addressed by its byte offset `at` in a little-endian
// instruction buffer: fields read and written as bytes (no view object per call).
const regsAt = (b: Uint8Array, at: number): number => b[at + 1]!;
const offAt = (b: Uint8Array, at: number): number => ((b[at + 2]! | b[at + 3]! << 8) << 16) >> 16;
const immAt = (b: Uint8Array, at: number): number => b[at + 4]! | b[at + 5]! << 8 | b[at + 6]! << 16 | b[at + 7]! << 24;
function setOff(b: Uint8Array, at: number, v: number): void {
  b[at + 2] = v & 0xff; b[at + 3] = (v >> 8) & 0xff;
}
function setImm(b: Uint8Array, at: number, v: number): void {
  b[at + 4] = v & 0xff; b[at + 5] = (v >> 8) & 0xff; b[at + 6] = (v >> 16) & 0xff; b[at + 7] = (v >> 24) & 0xff;
}

/** Poison a relocated instruction: both slots of an ld_imm64, so the verifier does not report "unknown opcode 00" instead. */
function poison(insns: Uint8Array, at: number, ldimm64: boolean, reason?: string): PatchOutcome {
  if (ldimm64) poisonInsn(insns, at + BPF_INSN_SZ);
  poisonInsn(insns, at);
  return { oldValue: undefined, poisoned: true, poisonReason: reason };
}

/** bpf_core_poison_insn */
function poisonInsn(insns: Uint8Array, at: number): void {
  insns[at] = BPF_JMP | BPF_CALL;
  insns[at + 1] = 0; // dst r0, src r0
  setOff(insns, at, 0);
  setImm(insns, at, POISON_HELPER_ID);
}

export function isLdImm64(insns: Uint8Array, insnIdx: number): boolean {
  return insns[insnIdx * BPF_INSN_SZ] === LD_IMM64;
}

/** What patching did, for the result record. */
export interface PatchOutcome {
  /** The value the instruction held (imm, off or imm64), u64 semantics; undefined if poisoned. */
  oldValue: bigint | undefined;
  poisoned: boolean;
  /** Set when a LDX/ST/STX access size was changed. */
  memSize?: { from: number; to: number };
  /** Set when a size mismatch forced poisoning of a load/store. */
  poisonReason?: string;
}

const u64 = (n: number | bigint): bigint => BigInt.asUintN(64, BigInt(n));

/**
 * bpf_core_patch_insn. `insns` holds one ELF section's instructions; the
 * instruction is patched in place. Throws CoreError when the instruction is
 * not one CO-RE can patch or does not hold the expected value.
 */
export function patchInsn(insns: Uint8Array, insnIdx: number, res: CoreReloRes): PatchOutcome {
  const nInsns = Math.floor(insns.length / BPF_INSN_SZ);
  if (insnIdx < 0 || insnIdx >= nInsns) throw new CoreError('EINVAL', `instruction #${insnIdx} is past the end of the section (${nInsns} instructions)`);
  const at = insnIdx * BPF_INSN_SZ;
  const code = insns[at]!;
  const ldimm64 = code === LD_IMM64;
  if (ldimm64 && insnIdx + 1 >= nInsns) throw new CoreError('EINVAL', `ld_imm64 at instruction #${insnIdx} has no second slot`);

  if (res.poison) return poison(insns, at, ldimm64);

  const { origVal, newVal } = res;
  const cls = bpfClass(code);
  switch (cls) {
    case BPF_ALU: case BPF_ALU64: {
      if (bpfSrc(code) !== BPF_K) throw new CoreError('EINVAL', `instruction #${insnIdx} (ALU, code 0x${hex(code)}) has a register source, not an immediate`);
      const imm = immAt(insns, at);
      const oldValue = u64(imm);
      if (res.validate && oldValue !== origVal)
        throw new CoreError('EINVAL', `unexpected instruction value: ALU imm is ${imm}, the local BTF says ${signed(origVal)}`);
      setImm(insns, at, Number(BigInt.asIntN(32, newVal)));
      return { oldValue, poisoned: false };
    }
    case BPF_LDX: case BPF_ST: case BPF_STX: {
      const off = offAt(insns, at);
      const oldValue = u64(off);
      if (res.validate && oldValue !== origVal)
        throw new CoreError('EINVAL', `unexpected instruction value: ${clsName(cls)} offset is ${off}, the local BTF says ${signed(origVal)}`);
      if (newVal > SHRT_MAX) throw new CoreError('ERANGE', `${clsName(cls)} offset ${newVal} does not fit in the 16-bit offset field`);
      if (res.failMemszAdjust)
        return poison(insns, at, ldimm64, `field size changed from ${res.origSz} to ${res.newSz} bytes and a ${clsName(cls)} of it cannot follow (only pointers and unsigned integers can)`);
      setOff(insns, at, Number(newVal));
      const out: PatchOutcome = { oldValue, poisoned: false };
      if (res.newSz !== res.origSz) {
        const have = sizeToBytes(code);
        if (have !== res.origSz)
          throw new CoreError('EINVAL', `${clsName(cls)} accesses ${have} bytes but the field is ${res.origSz} bytes in the local BTF`);
        const sz = bytesToSize(res.newSz);
        if (sz < 0) throw new CoreError('EINVAL', `${clsName(cls)} cannot access ${res.newSz} bytes (the field's size on the target)`);
        insns[at] = bpfMode(code) | sz | cls;
        out.memSize = { from: res.origSz, to: res.newSz };
      }
      return out;
    }
    case BPF_LD: {
      const hi = at + BPF_INSN_SZ;
      // A plain ld_imm64: no src register or offset, and a second slot that is all zero but its imm.
      if (!ldimm64 || regsAt(insns, at) >> 4 !== 0 || offAt(insns, at) !== 0 || insns[hi] !== 0 || regsAt(insns, hi) !== 0 || offAt(insns, hi) !== 0)
        throw new CoreError('EINVAL', `instruction #${insnIdx} (LD, code 0x${hex(code)}) is not a plain ld_imm64`);
      const imm = (BigInt(immAt(insns, hi) >>> 0) << 32n) | BigInt(immAt(insns, at) >>> 0);
      if (res.validate && imm !== origVal)
        throw new CoreError('EINVAL', `unexpected instruction value: ld_imm64 holds ${imm}, the local BTF says ${origVal}`);
      setImm(insns, at, Number(BigInt.asIntN(32, newVal)));
      setImm(insns, hi, Number(BigInt.asIntN(32, newVal >> 32n)));
      return { oldValue: imm, poisoned: false };
    }
    default: {
      const regs = regsAt(insns, at);
      throw new CoreError('EINVAL', `instruction #${insnIdx} (code 0x${hex(code)}, dst r${regs & 0x0f}, src r${regs >> 4}, off ${offAt(insns, at)}, imm ${immAt(insns, at)}) cannot carry a CO-RE relocation`);
    }
  }
}

function clsName(cls: number): string {
  return cls === BPF_LDX ? 'LDX' : cls === BPF_ST ? 'ST' : 'STX';
}
function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
/** u64 printed as the signed number it most likely is. */
function signed(v: bigint): string {
  return String(BigInt.asIntN(64, v));
}
