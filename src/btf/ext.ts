// .BTF.ext: per-section function info, line info and CO-RE relocation records.
// Layout: btf_ext_header, then three blobs each made of
//   u32 rec_size; { btf_ext_info_sec { u32 sec_name_off; u32 num_info; } + num_info * rec_size bytes }*
// Records may be larger than the fields we know (newer producers): we read the
// known prefix and skip the rest, as the kernel and libbpf do.
import { createLog } from '../util/log.ts';
import { BtfError } from './errors.ts';
import { BTF_MAGIC } from './types.ts';
import type { Btf } from './parse.ts';
import { BpfCoreReloKind } from '../uapi/kernel.ts';

const log = createLog('tsbpf:btf');
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** enum bpf_core_relo_kind (src/uapi), one const per kind */
const {
  BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE, BPF_CORE_FIELD_EXISTS, BPF_CORE_FIELD_SIGNED, BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64,
  BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_ID_TARGET, BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_SIZE, BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_TYPE_MATCHES,
} = BpfCoreReloKind;
export {
  BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE, BPF_CORE_FIELD_EXISTS, BPF_CORE_FIELD_SIGNED, BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64,
  BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_ID_TARGET, BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_SIZE, BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_TYPE_MATCHES,
};

/** Smallest record sizes the format allows (sizeof the known structs). */
export const BPF_FUNC_INFO_MIN_SIZE = 8;
export const BPF_LINE_INFO_MIN_SIZE = 16;
export const BPF_CORE_RELO_MIN_SIZE = 16;

/** struct bpf_func_info, as stored in an object file. */
export interface BtfExtFuncInfo {
  /** Byte offset of the function's first instruction in its ELF section (the kernel wants insn index = insnOff / 8). */
  insnOff: number;
  /** The BTF_KIND_FUNC describing it. */
  typeId: number;
}

/** struct bpf_line_info, as stored in an object file. */
export interface BtfExtLineInfo {
  /** Byte offset of the instruction in its ELF section. */
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  /** line_col >> 10 */
  lineNum: number;
  /** line_col & 0x3ff */
  lineCol: number;
  fileName: string;
  /** The source line's text. */
  line: string;
}

/** struct bpf_core_relo */
export interface BtfExtCoreRelo {
  /** Byte offset of the instruction to patch in its ELF section. */
  insnOff: number;
  /** The local (object BTF) root type. */
  typeId: number;
  accessStrOff: number;
  /** "0:1:2": the access path (struct member / array indexes), or an enumerator index. */
  accessStr: string;
  /** BPF_CORE_* (enum bpf_core_relo_kind) */
  kind: number;
}

/** One btf_ext_info_sec: the records of one ELF section. */
export interface BtfExtInfoSec<T> {
  secNameOff: number;
  secName: string;
  records: T[];
}

export interface BtfExtHeader {
  magic: number; version: number; flags: number; hdrLen: number;
  funcInfoOff: number; funcInfoLen: number; lineInfoOff: number; lineInfoLen: number;
  /** 0 when the header predates CO-RE (hdr_len 24). */
  coreReloOff: number; coreReloLen: number;
}

export interface BtfExt {
  header: BtfExtHeader;
  /** rec_size of each blob as found (0 if the blob is absent). */
  funcInfoRecSize: number;
  lineInfoRecSize: number;
  coreReloRecSize: number;
  funcInfo: BtfExtInfoSec<BtfExtFuncInfo>[];
  lineInfo: BtfExtInfoSec<BtfExtLineInfo>[];
  coreRelos: BtfExtInfoSec<BtfExtCoreRelo>[];
}

/** A line_info record whose strings are decoded from the BTF string table when first read. */
class LineInfoRecord implements BtfExtLineInfo {
  readonly lineNum: number;
  readonly lineCol: number;
  constructor(
    private readonly btf: Btf,
    readonly insnOff: number,
    readonly fileNameOff: number,
    readonly lineOff: number,
    lineCol: number,
  ) {
    this.lineNum = lineCol >>> 10;
    this.lineCol = lineCol & 0x3ff;
  }
  get fileName(): string {
    return this.btf.str(this.fileNameOff);
  }
  get line(): string {
    return this.btf.str(this.lineOff);
  }
}

/** The section as 32-bit words in host order: a view when it can be one, else a byte-swapped or realigned copy. */
function sectionWords(bytes: Uint8Array, le: boolean): Uint32Array {
  const n = bytes.length >>> 2;
  if (le === HOST_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, le);
  return out;
}

/** The records of one ELF section, or [] (sections are matched by name). */
export function extRecordsFor<T>(secs: readonly BtfExtInfoSec<T>[], secName: string): T[] {
  return secs.find((s) => s.secName === secName)?.records ?? [];
}

/** Parse a .BTF.ext section. Names are resolved in `btf` (the object's .BTF). Throws BtfError if malformed. */
export function parseBtfExt(bytes: Uint8Array, btf: Btf, name = '.BTF.ext'): BtfExt {
  if (bytes.length < 8) throw new BtfError(`${name}: ${bytes.length} bytes is too short for a btf_ext_header`, 0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = dv.getUint16(0, true);
  let le: boolean;
  if (magicLE === BTF_MAGIC) le = true;
  else if (magicLE === 0x9feb) le = false;
  else throw new BtfError(`${name}: bad magic 0x${magicLE.toString(16)}`, 0);
  const hdrLen = dv.getUint32(4, le);
  // The first header had no CO-RE fields (24 bytes); 32 bytes adds core_relo_off/len.
  if (hdrLen < 24 || hdrLen > bytes.length) throw new BtfError(`${name}: hdr_len ${hdrLen} is out of range (section is ${bytes.length} bytes)`, 4);
  const u32 = (off: number) => dv.getUint32(off, le);
  const header: BtfExtHeader = {
    magic: BTF_MAGIC, version: dv.getUint8(2), flags: dv.getUint8(3), hdrLen,
    funcInfoOff: u32(8), funcInfoLen: u32(12), lineInfoOff: u32(16), lineInfoLen: u32(20),
    coreReloOff: hdrLen >= 32 ? u32(24) : 0, coreReloLen: hdrLen >= 32 ? u32(28) : 0,
  };
  if (header.version !== 1) throw new BtfError(`${name}: unsupported version ${header.version}`, 2);

  const blob = (what: string, off: number, len: number, minRec: number) => {
    if (len === 0) return { recSize: 0, secs: [] as { secNameOff: number; secName: string; at: number; n: number }[] };
    const start = hdrLen + off;
    if (off % 4 !== 0) throw new BtfError(`${name}: ${what} offset ${off} is not 4-byte aligned`, start);
    if (start + len > bytes.length || len < 4) throw new BtfError(`${name}: ${what} [${start}, +${len}) runs past the end of the section (${bytes.length} bytes)`, start);
    const recSize = u32(start);
    if (recSize < minRec || recSize % 4 !== 0) throw new BtfError(`${name}: ${what} rec_size ${recSize} is invalid (minimum ${minRec}, multiple of 4)`, start);
    const secs: { secNameOff: number; secName: string; at: number; n: number }[] = [];
    const end = start + len;
    let p = start + 4;
    while (p < end) {
      if (p + 8 > end) throw new BtfError(`${name}: ${what} btf_ext_info_sec header at byte ${p} is truncated`, p);
      const secNameOff = u32(p);
      const n = u32(p + 4);
      if (n === 0) throw new BtfError(`${name}: ${what} section at byte ${p} has no records`, p + 4);
      // Multiply in floating point: num_info * rec_size can exceed 2^32 in a hostile file.
      if (p + 8 + n * recSize > end) throw new BtfError(`${name}: ${what} section at byte ${p} claims ${n} records of ${recSize} bytes, past the end of the blob`, p + 4);
      let secName: string;
      try { secName = btf.str(secNameOff); } catch { throw new BtfError(`${name}: ${what} section at byte ${p} has bad name offset ${secNameOff}`, p); }
      if (secName === '') throw new BtfError(`${name}: ${what} section at byte ${p} has an empty name`, p);
      secs.push({ secNameOff, secName, at: p + 8, n });
      p += 8 + n * recSize;
    }
    return { recSize, secs };
  };
  const str = (off: number, at: number, what: string) => {
    try { return btf.str(off); } catch { throw new BtfError(`${name}: ${what} at byte ${at} has bad string offset ${off}`, at); }
  };

  // Every record field is a u32 at hdr_len + a multiple of 4 (blob offsets and
  // record sizes are checked to be multiples of 4): read them as 32-bit words in
  // host order, counted from hdr_len's alignment (`phase`, 0 in practice):
  // the field at byte b is w[(b - phase) >>> 2].
  const phase = hdrLen & 3;
  const w = sectionWords(bytes.subarray(phase), le);

  const fi = blob('func_info', header.funcInfoOff, header.funcInfoLen, BPF_FUNC_INFO_MIN_SIZE);
  const funcInfo = fi.secs.map((s) => {
    const records: BtfExtFuncInfo[] = new Array(s.n);
    for (let i = 0, at = (s.at - phase) >>> 2, step = fi.recSize >>> 2; i < s.n; i++, at += step) records[i] = { insnOff: w[at]!, typeId: w[at + 1]! };
    return { secNameOff: s.secNameOff, secName: s.secName, records };
  });

  const li = blob('line_info', header.lineInfoOff, header.lineInfoLen, BPF_LINE_INFO_MIN_SIZE);
  const strLimit = btf.startStrOff + btf.stringsLength;
  const lineInfo = li.secs.map((s) => {
    const records: BtfExtLineInfo[] = new Array(s.n);
    for (let i = 0, at = (s.at - phase) >>> 2, step = li.recSize >>> 2; i < s.n; i++, at += step) {
      const fileNameOff = w[at + 1]!;
      const lineOff = w[at + 2]!;
      if (fileNameOff >= strLimit) throw new BtfError(`${name}: line_info file name at byte ${at * 4 + phase + 4} has bad string offset ${fileNameOff}`, at * 4 + phase + 4);
      if (lineOff >= strLimit) throw new BtfError(`${name}: line_info line at byte ${at * 4 + phase + 8} has bad string offset ${lineOff}`, at * 4 + phase + 8);
      // The file name and source text are only needed for messages: decoded on first use.
      records[i] = new LineInfoRecord(btf, w[at]!, fileNameOff, lineOff, w[at + 3]!);
    }
    return { secNameOff: s.secNameOff, secName: s.secName, records };
  });

  const cr = blob('core_relo', header.coreReloOff, header.coreReloLen, BPF_CORE_RELO_MIN_SIZE);
  const coreRelos = cr.secs.map((s) => {
    const records: BtfExtCoreRelo[] = new Array(s.n);
    for (let i = 0, at = (s.at - phase) >>> 2, step = cr.recSize >>> 2; i < s.n; i++, at += step) {
      const accessStrOff = w[at + 2]!;
      records[i] = { insnOff: w[at]!, typeId: w[at + 1]!, accessStrOff, accessStr: str(accessStrOff, at * 4 + phase + 8, 'core_relo access string'), kind: w[at + 3]! };
    }
    return { secNameOff: s.secNameOff, secName: s.secName, records };
  });

  log('%s: %d func_info, %d line_info, %d core_relo sections', name, funcInfo.length, lineInfo.length, coreRelos.length);
  return { header, funcInfoRecSize: fi.recSize, lineInfoRecSize: li.recSize, coreReloRecSize: cr.recSize, funcInfo, lineInfo, coreRelos };
}
