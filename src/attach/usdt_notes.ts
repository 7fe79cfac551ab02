// USDT probes as the compiler records them, read without the kernel.
//
// <sys/sdt.h>'s STAP_PROBEn(provider, name, args...) puts a nop at the call
// site and an ELF note into `.note.stapsdt` (owner "stapsdt", type 3):
//
//   desc:  u64 location   link-time address of the nop
//          u64 base       link-time address of the `.stapsdt.base` section
//          u64 semaphore  address of the probe's u16 counter, or 0
//          provider\0 name\0 args\0
//
// `args` is one operand per argument, separated by spaces, each
// "SIZE@OPERAND" in the assembler's syntax: SIZE is 1, 2, 4 or 8 bytes,
// negative when signed; on x86-64 OPERAND is an immediate ($5), a register
// (%eax), or memory at a register plus a displacement (-16(%rbp)).
//
// This file parses the notes and the x86-64 operands, and lays out the
// `struct __bpf_usdt_spec` that libbpf's BPF-side <bpf/usdt.bpf.h> reads from
// its `__bpf_usdt_specs` map (the layout below is that header's, libbpf 1.1):
//
//   struct __bpf_usdt_arg_spec {         // 16 bytes
//     __u64 val_off;                     //  0: constant, or displacement
//     enum __bpf_usdt_arg_type arg_type; //  8: 0 const, 1 reg, 2 reg deref
//     short reg_off;                     // 12: offsetof(struct pt_regs, reg)
//     bool arg_signed;                   // 14
//     char arg_bitshift;                 // 15: 64 - 8 * size
//   };
//   struct __bpf_usdt_spec {             // 208 bytes
//     struct __bpf_usdt_arg_spec args[12]; //   0
//     __u64 usdt_cookie;                 // 192
//     short arg_cnt;                     // 200
//   };
import { TsbpfError } from '../errors.ts';

/** An unreadable note or an argument operand tsbpf cannot express for usdt.bpf.h. */
export class UsdtError extends TsbpfError {
  constructor(message: string) {
    super(message);
    this.name = 'UsdtError';
  }
}

export const USDT_NOTE_SECTION = '.note.stapsdt';
export const USDT_BASE_SECTION = '.stapsdt.base';
const USDT_NOTE_OWNER = 'stapsdt';
const USDT_NOTE_TYPE = 3;

/** BPF_USDT_MAX_ARG_CNT of usdt.bpf.h. */
export const USDT_MAX_ARGS = 12;
/** sizeof(struct __bpf_usdt_arg_spec), sizeof(struct __bpf_usdt_spec). */
export const USDT_ARG_SPEC_SIZE = 16;
export const USDT_SPEC_SIZE = 208;

/** One `.note.stapsdt` record. Addresses are link-time virtual addresses. */
export interface UsdtNote {
  provider: string;
  name: string;
  /** The argument operands, e.g. "-4@%edi 8@-16(%rbp) -4@$5" ('' without arguments). */
  args: string;
  /** Address of the probe's nop. */
  location: bigint;
  /** Address `.stapsdt.base` had when the note was written (0: none). */
  base: bigint;
  /** Address of the u16 semaphore, or 0 when the probe has none. */
  semaphore: bigint;
}

/**
 * Every USDT note in the bytes of a `.note.stapsdt` section (little-endian,
 * 64-bit). Notes of other owners or types are skipped; a truncated or
 * malformed stapsdt note is an UsdtError naming its byte offset.
 */
export function parseUsdtNotes(data: Uint8Array, where = USDT_NOTE_SECTION): UsdtNote[] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const align4 = (n: number) => (n + 3) & ~3;
  const text = (from: number, to: number) => Buffer.from(data.buffer, data.byteOffset + from, to - from).toString('utf8');
  const notes: UsdtNote[] = [];
  let off = 0;
  while (off + 12 <= data.length) {
    const namesz = dv.getUint32(off, true);
    const descsz = dv.getUint32(off + 4, true);
    const type = dv.getUint32(off + 8, true);
    const nameAt = off + 12;
    const descAt = nameAt + align4(namesz);
    const next = descAt + align4(descsz);
    if (namesz > data.length || descsz > data.length || descAt + descsz > data.length)
      throw new UsdtError(`${where}: note at byte ${off} runs past the end of the section (name ${namesz} bytes, desc ${descsz} bytes, section ${data.length} bytes)`);
    const owner = text(nameAt, nameAt + Math.max(0, namesz - 1));
    if (owner === USDT_NOTE_OWNER && type === USDT_NOTE_TYPE) notes.push(parseDesc(data.subarray(descAt, descAt + descsz), `${where}: note at byte ${off}`));
    off = next;
  }
  return notes;
}

function parseDesc(desc: Uint8Array, where: string): UsdtNote {
  if (desc.length < 24 + 3) throw new UsdtError(`${where}: ${desc.length} bytes, too short for three addresses and three strings`);
  const dv = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  const strings: string[] = [];
  let at = 24;
  for (const what of ['provider', 'name', 'arguments']) {
    const end = desc.indexOf(0, at);
    if (end < 0) throw new UsdtError(`${where}: the ${what} string is not NUL-terminated`);
    strings.push(Buffer.from(desc.buffer, desc.byteOffset + at, end - at).toString('utf8'));
    at = end + 1;
  }
  const [provider, name, args] = strings as [string, string, string];
  if (!name) throw new UsdtError(`${where}: the probe has an empty name (provider "${provider}")`);
  return {
    provider,
    name,
    // an old systemtap format wrote ":" for "no arguments"
    args: args.startsWith(':') ? '' : args.trim(),
    location: dv.getBigUint64(0, true),
    base: dv.getBigUint64(8, true),
    semaphore: dv.getBigUint64(16, true),
  };
}

// ---------------------------------------------------------------- arguments

/** enum __bpf_usdt_arg_type */
export enum UsdtArgType {
  BPF_USDT_ARG_CONST = 0,
  BPF_USDT_ARG_REG = 1,
  BPF_USDT_ARG_REG_DEREF = 2,
}

/** One argument, decoded from its operand. */
export interface UsdtArg {
  /** The operand as written ("-4@-20(%rbp)"). */
  text: string;
  type: UsdtArgType;
  /** Size in bytes: 1, 2, 4 or 8. */
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  /** CONST: the value; REG_DEREF: the displacement (two's complement in the spec). */
  valOff: bigint;
  /** REG, REG_DEREF: the 64-bit register ("rbp"), or 'rip'. */
  reg?: string;
  /** offsetof(struct pt_regs, reg) on x86-64 (0 for CONST). */
  regOff: number;
  /**
   * A symbol-relative operand ("counter(%rip)", "counter+8(%rip)"): the
   * symbol's address is only known from the binary's symbol table, so the
   * displacement is completed by resolveRipRelative() before encoding.
   */
  symbol?: string;
}

/**
 * offsetof(struct pt_regs, <reg>) on x86-64 (arch/x86/include/asm/ptrace.h),
 * under every name an operand may use for it: 64-, 32-, 16- and low 8-bit.
 */
const X86_64_PT_REGS: [names: string[], offset: number][] = [
  [['r15', 'r15d', 'r15w', 'r15b'], 0],
  [['r14', 'r14d', 'r14w', 'r14b'], 8],
  [['r13', 'r13d', 'r13w', 'r13b'], 16],
  [['r12', 'r12d', 'r12w', 'r12b'], 24],
  [['rbp', 'ebp', 'bp', 'bpl'], 32],
  [['rbx', 'ebx', 'bx', 'bl'], 40],
  [['r11', 'r11d', 'r11w', 'r11b'], 48],
  [['r10', 'r10d', 'r10w', 'r10b'], 56],
  [['r9', 'r9d', 'r9w', 'r9b'], 64],
  [['r8', 'r8d', 'r8w', 'r8b'], 72],
  [['rax', 'eax', 'ax', 'al'], 80],
  [['rcx', 'ecx', 'cx', 'cl'], 88],
  [['rdx', 'edx', 'dx', 'dl'], 96],
  [['rsi', 'esi', 'si', 'sil'], 104],
  [['rdi', 'edi', 'di', 'dil'], 112],
  [['rip', 'eip'], 128],
  [['rsp', 'esp', 'sp', 'spl'], 152],
];
const REGS = new Map<string, { reg: string; offset: number }>();
for (const [names, offset] of X86_64_PT_REGS) for (const n of names) REGS.set(n, { reg: names[0]!, offset });

function register(name: string, operand: string): { reg: string; offset: number } {
  const r = REGS.get(name);
  if (r) return r;
  if (/^[abcd]h$/.test(name)) throw new UsdtError(`argument "${operand}": %${name} is the second byte of a register, which usdt.bpf.h cannot read (it reads whole registers)`);
  throw new UsdtError(`argument "${operand}": unknown x86-64 register %${name}`);
}

const INT = '[-+]?(?:0[xX][0-9a-fA-F]+|\\d+)';
const SIZE_RE = /^([-+]?\d+)@(.+)$/;
const CONST_RE = new RegExp(`^\\$(${INT})$`);
const REG_RE = /^%([a-z0-9]+)$/;
const DEREF_RE = new RegExp(`^(${INT})?\\(%([a-z0-9]+)\\)$`);
const SYM_RE = new RegExp(`^([A-Za-z_.$][\\w.$@]*)([-+](?:0[xX][0-9a-fA-F]+|\\d+))?\\(%(rip|eip)\\)$`);
const SIB_RE = /^[^(]*\(%[a-z0-9]*,%[a-z0-9]+(,\d+)?\)$/;

const int = (s: string): bigint => (s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s.replace(/^\+/, '')));

/** Decode one x86-64 operand "SIZE@OPERAND". */
export function parseUsdtArg(text: string): UsdtArg {
  const m = SIZE_RE.exec(text);
  if (!m) throw new UsdtError(`argument "${text}" is not SIZE@OPERAND`);
  const n = Number(m[1]);
  const size = Math.abs(n);
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) throw new UsdtError(`argument "${text}": size ${size} is not 1, 2, 4 or 8`);
  const base = { text, size: size as 1 | 2 | 4 | 8, signed: n < 0 };
  const op = m[2]!;
  let c: RegExpExecArray | null;
  if ((c = CONST_RE.exec(op))) return { ...base, type: UsdtArgType.BPF_USDT_ARG_CONST, valOff: int(c[1]!), regOff: 0 };
  if ((c = REG_RE.exec(op))) {
    const r = register(c[1]!, text);
    return { ...base, type: UsdtArgType.BPF_USDT_ARG_REG, valOff: 0n, reg: r.reg, regOff: r.offset };
  }
  if ((c = DEREF_RE.exec(op))) {
    const r = register(c[2]!, text);
    return { ...base, type: UsdtArgType.BPF_USDT_ARG_REG_DEREF, valOff: c[1] ? int(c[1]) : 0n, reg: r.reg, regOff: r.offset };
  }
  if ((c = SYM_RE.exec(op))) {
    const r = register(c[3]!, text);
    return { ...base, type: UsdtArgType.BPF_USDT_ARG_REG_DEREF, valOff: c[2] ? int(c[2]) : 0n, reg: r.reg, regOff: r.offset, symbol: c[1]! };
  }
  if (SIB_RE.test(op)) throw new UsdtError(`argument "${text}": base+index*scale addressing has no encoding in libbpf 1.1's usdt.bpf.h`);
  throw new UsdtError(`argument "${text}": unrecognised x86-64 operand "${op}"`);
}

/** Decode a note's argument string (up to 12 operands separated by spaces). */
export function parseUsdtArgs(args: string): UsdtArg[] {
  const parts = args.trim() === '' ? [] : args.trim().split(/\s+/);
  if (parts.length > USDT_MAX_ARGS) throw new UsdtError(`${parts.length} arguments ("${args}"): usdt.bpf.h reads at most ${USDT_MAX_ARGS}`);
  return parts.map(parseUsdtArg);
}

/**
 * Complete a symbol-relative operand: at the probe, usdt.bpf.h reads
 * pt_regs->ip, which the kernel sets to the probe's own address, so the value
 * lives at ip + (symbol + addend - probe address) in any load position.
 */
export function resolveRipRelative(arg: UsdtArg, symbolAddress: bigint, probeAddress: bigint): UsdtArg {
  if (arg.symbol === undefined) return arg;
  const { symbol: _resolved, ...rest } = arg;
  return { ...rest, valOff: symbolAddress + arg.valOff - probeAddress };
}

/** The bytes of one `struct __bpf_usdt_spec` (208 bytes, little-endian). */
export function encodeUsdtSpec(args: readonly UsdtArg[], cookie: bigint): Uint8Array {
  if (args.length > USDT_MAX_ARGS) throw new UsdtError(`${args.length} arguments: usdt.bpf.h reads at most ${USDT_MAX_ARGS}`);
  const out = new Uint8Array(USDT_SPEC_SIZE);
  const dv = new DataView(out.buffer);
  args.forEach((a, i) => {
    if (a.symbol !== undefined) throw new UsdtError(`argument "${a.text}": symbol ${a.symbol} is not resolved (resolveRipRelative)`);
    const at = i * USDT_ARG_SPEC_SIZE;
    dv.setBigUint64(at, BigInt.asUintN(64, a.valOff), true);
    dv.setUint32(at + 8, a.type, true);
    dv.setInt16(at + 12, a.regOff, true);
    dv.setUint8(at + 14, a.signed ? 1 : 0);
    dv.setInt8(at + 15, 64 - a.size * 8);
  });
  dv.setBigUint64(192, BigInt.asUintN(64, cookie), true);
  dv.setInt16(200, args.length, true);
  return out;
}
