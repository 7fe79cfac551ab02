// The lazy BTF reader. A pass over the type headers records where each type
// starts (a Uint32Array of word offsets); no JS object is created per type.
// Types are decoded on demand by btf.type(id).
//
// By default parseBtf() makes that pass up front, so a malformed type section is
// refused at once. With `lazy` (used for the kernel's own BTF, which the kernel
// validated when it booted) the pass runs only as far as the ids asked for: the
// structs a CO-RE program touches sit in the first few thousand of vmlinux's
// ~126k types, and the pass over all of them is the biggest cost of a fresh
// process that only needs a handful.
//
// Lookups by name: the header pass also records a 32-bit key per type, its kind
// and the first two bytes of its name. The first lookups of a kind search that
// key array natively (TypedArray indexOf) for kind + the name's first two bytes,
// in id order, and compare whole names only for those candidates: like libbpf's
// btf__find_by_name_kind, but with ~1% of the string compares, and needing the
// header pass only as far as the match. Once the linear lookups of a kind have
// spent LINEAR_BUDGET, an open-addressing hash table over that kind's names is
// built (see NameIndex) and used from then on. CO-RE's candidate search, which
// needs every type of a kind whose name is `name` or `name___<flavor>`, always
// searches the keys (findByEssentialName): one native pass per name, after a
// complete header pass (~5 ms for vmlinux in a fresh process, where any JS
// loop over 126k items costs milliseconds before V8 optimizes it; the pass
// therefore records only offsets, kinds and keys, nothing per kind).
import { createLog } from '../util/log.ts';
import { BtfError } from './errors.ts';
import {
  BTF_HEADER_SIZE, BTF_MAGIC, btfTypeWords, BTF_VERSION, BTF_KIND_NAMES, NR_BTF_KINDS,
  BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_ARRAY, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_FWD,
  BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO,
  BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FLOAT, BTF_KIND_DECL_TAG, BTF_KIND_TYPE_TAG, BTF_KIND_ENUM64,
  type BtfType, type BtfMember, type BtfEnumValue, type BtfEnum64Value, type BtfParam, type BtfVarSecinfo,
} from './types.ts';
import { NameIndex, nameEquals, namePrefix, nameStartsWith, NAME_EQUAL, NAME_FLAVORED } from './strings.ts';
import { essentialNameLen } from './helpers.ts';

const log = createLog('tsbpf:btf');
/** Buffer's native UTF-8 decoder, without toString()'s argument juggling. */
interface Utf8Sliceable { utf8Slice(start: number, end: number): string }
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface ParseBtfOptions {
  /** Base BTF when `bytes` is split BTF (a kernel module's): ids and string offsets continue after the base. */
  base?: Btf;
  /** Used in error messages and logs. */
  name?: string;
  /**
   * Scan the type headers on demand instead of up front. Faster when only a few
   * types are needed, but a malformed type section is then reported (as a
   * BtfError) by the first access that reaches it rather than by parseBtf().
   * For trusted blobs: the running kernel's BTF.
   */
  lazy?: boolean;
  /**
   * The complete header pass over these very bytes, as headerIndex() gave it
   * (src/btf/kernel.ts keeps the kernel's on disk, for the next process):
   * adopted instead of making the pass, if a sample of its entries agrees with
   * the blob; otherwise ignored. Only for a blob that is not split (no `base`).
   */
  index?: BtfHeaderIndex;
}

/**
 * The header pass over a whole blob: for type `id`, the word index of its
 * btf_type header (offsets), its kind (kinds) and its lookup key (keys), at
 * [id - startId]. See the header of this file.
 */
export interface BtfHeaderIndex {
  readonly offsets: Uint32Array;
  readonly kinds: Uint8Array;
  readonly keys: Uint32Array;
}

/** How many entries of an offered BtfHeaderIndex are checked against the blob (evenly spaced, plus the last). */
const INDEX_SAMPLES = 256;

/**
 * When a kind gets its hash index, in units of one name compare. A linear
 * lookup spends one unit per candidate compared plus one per 32 types its
 * native key scan passes (and the header pass, if lazy, must reach the match);
 * building the index costs about one hash per type of the kind (10,682 STRUCTs,
 * 56,277 FUNCs in a 6.18 vmlinux: milliseconds in a fresh process). With this
 * budget, lookups of early types, such as the core kernel structs a CO-RE
 * program reads (ids < 10,000 in vmlinux), never pay for an index, while a
 * series of lookups across the whole blob switches to it after one or two.
 */
const LINEAR_BUDGET = 4096;

/** How many headers a lazy pass records at least each time it resumes (amortizes the resumption). */
const SCAN_STEP = 1024;

/** The decoded btf_header. Offsets are relative to the end of the header, as on disk. */
export interface BtfHeader {
  magic: number; version: number; flags: number; hdrLen: number;
  typeOff: number; typeLen: number; strOff: number; strLen: number;
}

/** Parse a BTF blob (the `.BTF` section of an object, or /sys/kernel/btf/*). Throws BtfError if malformed. */
export function parseBtf(bytes: Uint8Array, opts: ParseBtfOptions = {}): Btf {
  return new Btf(bytes, opts);
}

/** A parsed, read-only BTF type graph. Ids run 1..typeCount; 0 is void. */
export class Btf {
  readonly name: string;
  readonly base: Btf | undefined;
  /** The blob this was parsed from (not copied). */
  readonly bytes: Uint8Array;
  readonly header: BtfHeader;
  /** True if the blob was big-endian (its type words were byte-swapped on parse). */
  readonly swapped: boolean;
  /** First id described by this blob: 1, or base.typeCount + 1 for split BTF. */
  readonly startId: number;
  /** First string offset owned by this blob: 0, or the base's string length for split BTF. */
  readonly startStrOff: number;

  /** The type section as 32-bit words in host order (every BTF field is a 32-bit word). */
  readonly #words: Uint32Array;
  /** Byte offset of the type section in the blob, for error messages. */
  readonly #typeAt: number;
  // The header pass, which may stop and resume (lazy parsing). Its arrays grow
  // by doubling and are trimmed when it completes; slots past #count hold 0,
  // which is neither a valid kind nor a valid key.
  /** #offsets[id - startId] = word index of that type's btf_type header, for the first #count types. */
  #offsets: Uint32Array;
  /** #kinds[id - startId] = BTF_KIND_* (one byte per type, for kind filters without touching the words). */
  #kinds: Uint8Array;
  /** #keys[id - startId] = kind | name[0] << 8 | name[1] << 16 (name bytes): candidates for a lookup by name. */
  #keys: Uint32Array;
  /** Number of types the pass has recorded. */
  #count = 0;
  /** Word index where the pass resumes; #words.length once every type is recorded. */
  #scanAt = 0;
  /** What linear lookups have spent so far, per kind (see LINEAR_BUDGET). */
  readonly #linearSpent = new Uint32Array(NR_BTF_KINDS);
  /** The string section; a Buffer view for native indexOf/utf8 decoding. */
  readonly #strings: Buffer;
  /** The same bytes as a plain Uint8Array: its indexOf is a V8 builtin, Buffer's goes through JS argument handling. */
  readonly #strBytes: Uint8Array;
  /** One lazily built name index per kind. */
  readonly #names: (NameIndex | undefined)[] = [];
  readonly #cache = new Map<number, BtfType>();
  /** findByEssentialName's key searches, by key (see #keyHits). */
  readonly #hits = new Map<number, readonly number[]>();

  constructor(bytes: Uint8Array, opts: ParseBtfOptions = {}) {
    this.name = opts.name ?? (opts.base ? 'split BTF' : 'BTF');
    this.base = opts.base;
    this.bytes = bytes;
    const where = this.name;
    if (bytes.length < BTF_HEADER_SIZE) throw new BtfError(`${where}: ${bytes.length} bytes is too short for a btf_header (${BTF_HEADER_SIZE})`, 0);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // The magic tells the byte order: 0xeb9f read little-endian means a little-endian blob.
    const magicLE = dv.getUint16(0, true);
    let le: boolean;
    if (magicLE === BTF_MAGIC) le = true;
    else if (magicLE === 0x9feb) le = false;
    else throw new BtfError(`${where}: bad magic 0x${magicLE.toString(16)} (expected 0x${BTF_MAGIC.toString(16)})`, 0);
    const h: BtfHeader = {
      magic: BTF_MAGIC, version: dv.getUint8(2), flags: dv.getUint8(3), hdrLen: dv.getUint32(4, le),
      typeOff: dv.getUint32(8, le), typeLen: dv.getUint32(12, le), strOff: dv.getUint32(16, le), strLen: dv.getUint32(20, le),
    };
    this.header = h;
    if (h.version !== BTF_VERSION) throw new BtfError(`${where}: unsupported BTF version ${h.version}`, 2);
    if (h.hdrLen < BTF_HEADER_SIZE || h.hdrLen > bytes.length) throw new BtfError(`${where}: hdr_len ${h.hdrLen} is out of range (blob is ${bytes.length} bytes)`, 4);
    const body = bytes.length - h.hdrLen;
    if (h.typeOff % 4 !== 0) throw new BtfError(`${where}: type_off ${h.typeOff} is not 4-byte aligned`, 8);
    if (h.typeLen % 4 !== 0) throw new BtfError(`${where}: type_len ${h.typeLen} is not a multiple of 4`, 12);
    if (h.typeOff + h.typeLen > body) throw new BtfError(`${where}: type section [${h.typeOff}, +${h.typeLen}) runs past the end of the blob (${body} bytes after the header)`, 8);
    if (h.strOff + h.strLen > body) throw new BtfError(`${where}: string section [${h.strOff}, +${h.strLen}) runs past the end of the blob (${body} bytes after the header)`, 16);
    if (h.strOff < h.typeOff + h.typeLen && h.typeOff < h.strOff + h.strLen && h.typeLen && h.strLen)
      throw new BtfError(`${where}: type and string sections overlap`, 16);

    const strAt = h.hdrLen + h.strOff;
    this.#strings = Buffer.from(bytes.buffer, bytes.byteOffset + strAt, h.strLen);
    this.#strBytes = new Uint8Array(bytes.buffer, bytes.byteOffset + strAt, h.strLen);
    if (h.strLen > 0 && this.#strings[h.strLen - 1] !== 0) throw new BtfError(`${where}: string section does not end with NUL`, strAt + h.strLen - 1);
    if (!opts.base && h.strLen > 0 && this.#strings[0] !== 0) throw new BtfError(`${where}: string section does not start with an empty string`, strAt);
    if (!opts.base && h.strLen === 0 && h.typeLen > 0) throw new BtfError(`${where}: empty string section`, 20);

    this.swapped = le !== HOST_LITTLE_ENDIAN;
    const typeAt = bytes.byteOffset + h.hdrLen + h.typeOff;
    let words: Uint32Array;
    if (!this.swapped && typeAt % 4 === 0) {
      words = new Uint32Array(bytes.buffer, typeAt, h.typeLen >>> 2);
    } else {
      // Unaligned (e.g. a .BTF section inside an ELF) or foreign byte order: copy once.
      words = new Uint32Array(h.typeLen >>> 2);
      const src = new DataView(bytes.buffer, typeAt, h.typeLen);
      for (let i = 0; i < words.length; i++) words[i] = src.getUint32(i * 4, le);
    }
    this.#words = words;
    this.#typeAt = h.hdrLen + h.typeOff;
    this.#offsets = new Uint32Array(0);
    this.#kinds = new Uint8Array(0);
    this.#keys = new Uint32Array(0);

    this.startId = opts.base ? opts.base.typeCount + 1 : 1;
    this.startStrOff = opts.base ? opts.base.stringsLength + opts.base.startStrOff : 0;
    if (opts.index && !opts.base && this.#adopt(opts.index)) {
      log('%s: %d types from the index given, %d bytes of strings', where, this.#count, h.strLen);
    } else if (opts.lazy) {
      log('%s: %d bytes of types (scanned on demand), %d bytes of strings%s', where, h.typeLen, h.strLen, this.swapped ? ', byte-swapped' : '');
    } else {
      this.#scanAll();
      log('%s: %d types (ids %d..%d), %d bytes of strings%s', where, this.#count, this.startId, this.typeCount, h.strLen, this.swapped ? ', byte-swapped' : '');
    }
  }

  /** Number of types described by this blob alone (without the base). Completes a lazy header pass. */
  get localTypeCount(): number {
    this.#scanAll();
    return this.#count;
  }
  /** Highest valid type id (base types included). Completes a lazy header pass. */
  get typeCount(): number {
    return this.startId + this.localTypeCount - 1;
  }
  /** Length of this blob's string section. */
  get stringsLength(): number { return this.#strings.length; }
  /** This blob's string section bytes (a view, not a copy). */
  stringBytes(): Uint8Array { return this.#strBytes; }

  // ---- the header pass ---------------------------------------------------

  /**
   * Record type headers until `n` types are recorded (or the section ends),
   * growing the arrays by doubling. One flat loop, no calls (except for names in
   * a base's strings): the length of a type is BASE_WORDS[kind] +
   * VLEN_WORDS[kind] * vlen, checked to fit; its key is its kind and the first
   * two bytes of its name (NUL-terminated, so the second is 0 for one-byte
   * names; for anonymous types it is another name's byte, and no lookup asks
   * for a key with a first byte of 0).
   */
  #scanTo(n: number): void {
    const words = this.#words;
    const total = words.length;
    let off = this.#scanAt;
    if (off >= total || this.#count >= n) return;
    if (n > this.#offsets.length) this.#grow(n);
    let count = this.#count;
    const offsets = this.#offsets;
    const kinds = this.#kinds;
    const keys = this.#keys;
    const stop = Math.min(n, offsets.length);
    const end = scanHeaders(words, off, offsets, kinds, keys, count, stop, this.#strBytes, this.startStrOff, this.base);
    off = end.off;
    count = end.count;
    if (end.bad) {
      // Keep what is valid: the error repeats at this type on every later access.
      this.#count = count;
      this.#scanAt = off;
      throw this.#scanError(off, count);
    }
    this.#count = count;
    this.#scanAt = off;
    if (off >= total && count < offsets.length) {
      // The pass is complete: give back the arrays' spare room.
      this.#offsets = offsets.slice(0, count);
      this.#kinds = kinds.slice(0, count);
      this.#keys = keys.slice(0, count);
    }
  }

  /** Make room for `n` types in the pass's arrays (doubling, but never past what the section can hold). */
  #grow(n: number): void {
    // Every type is at least 3 words: that bounds how many can remain.
    const bound = this.#count + Math.floor((this.#words.length - this.#scanAt) / 3) + 1;
    // (never below the current capacity: the bound can be, when little of the section is left)
    const cap = Math.max(Math.min(Math.max(n, 1024, this.#offsets.length * 2), bound), this.#offsets.length);
    if (cap === this.#offsets.length) return;
    const offsets = new Uint32Array(cap);
    const kinds = new Uint8Array(cap);
    const keys = new Uint32Array(cap);
    offsets.set(this.#offsets);
    kinds.set(this.#kinds);
    keys.set(this.#keys);
    this.#offsets = offsets;
    this.#kinds = kinds;
    this.#keys = keys;
  }

  /**
   * Take a complete header pass made earlier (ParseBtfOptions.index) if it fits
   * this blob: as many offsets as kinds and keys, no more types than the
   * section can hold, the first at word 0, and for INDEX_SAMPLES entries and
   * the last, the kind and key the words say, and the next type starting where
   * this one ends (the last one at the end of the section). A sanity check of
   * an index this code wrote, not a proof: the file is trusted (kernel.ts).
   */
  #adopt(index: BtfHeaderIndex): boolean {
    const { offsets, kinds, keys } = index;
    const words = this.#words;
    const n = offsets.length;
    if (kinds.length !== n || keys.length !== n || n === 0 || n > Math.floor(words.length / 3) || offsets[0] !== 0) return false;
    const step = Math.max(1, Math.floor(n / INDEX_SAMPLES));
    for (let i = 0; i < n; i = i === n - 1 ? n : Math.min(i + step, n - 1)) {
      const off = offsets[i]!;
      if (off + 3 > words.length) return false;
      const info = words[off + 1]!;
      const kind = (info >>> 24) & 0x1f;
      const end = off + BASE_WORDS[kind]! + VLEN_WORDS[kind]! * (info & 0xffff);
      const p = words[off]!;
      if (BASE_WORDS[kind] === 0 || kinds[i] !== kind || keys[i] !== (kind | this.#strBytes[p]! << 8 | this.#strBytes[p + 1]! << 16)) return false;
      if (i + 1 < n ? offsets[i + 1] !== end : end !== words.length) return false;
    }
    this.#offsets = offsets;
    this.#kinds = kinds;
    this.#keys = keys;
    this.#count = n;
    this.#scanAt = words.length;
    return true;
  }

  /** The complete header pass (read it only), for ParseBtfOptions.index in a later process; undefined until a lazy pass has finished. */
  headerIndex(): BtfHeaderIndex | undefined {
    if (this.#scanAt < this.#words.length) return undefined;
    return { offsets: this.#offsets, kinds: this.#kinds, keys: this.#keys };
  }

  /** Record SCAN_STEP more types (for searches that walk forward). */
  #scanMore(): void {
    this.#scanTo(this.#count + SCAN_STEP);
  }

  /** Finish the header pass (in one call: one long loop that V8 optimizes on the fly). */
  #scanAll(): void {
    this.#scanTo(Infinity);
  }

  #scanError(off: number, n: number): BtfError {
    const at = this.#typeAt + off * 4;
    if (off + 3 > this.#words.length) return new BtfError(`${this.name}: type [${n + 1}] header is truncated at byte offset ${at}`, at);
    const info = this.#words[off + 1]!;
    const kind = (info >>> 24) & 0x1f;
    if (BASE_WORDS[kind] === 0) return new BtfError(`${this.name}: type [${n + 1}] at byte offset ${at} has invalid kind ${kind}`, at);
    return new BtfError(`${this.name}: type [${n + 1}] (${BTF_KIND_NAMES[kind]}, vlen ${info & 0xffff}) at byte offset ${at} runs past the end of the type section`, at);
  }

  /**
   * Whether `id` can name a type (void, base and local ids). Recorded ids are
   * known. Past the frontier of a lazy pass, an upper bound stands in (every
   * type is at least 3 words), so that checking a member's type id does not
   * force the pass forward: an id that turns out not to exist is refused when
   * it is used (type(), kindOf(), ...). An eager pass is complete, so its
   * answer is exact.
   */
  #mayExist(id: number): boolean {
    const i = id - this.startId;
    if (i < this.#count) return id >= 0;
    return i < this.#count + Math.floor((this.#words.length - this.#scanAt) / 3);
  }

  /** Word offset of `id`'s header in the type section; throws for ids that are not local. */
  #at(id: number): number {
    const i = id - this.startId;
    if (i >= this.#count) this.#scanTo(Math.max(i + 1, this.#count + SCAN_STEP));
    if (i < 0 || i >= this.#count || !Number.isInteger(id)) throw new BtfError(`${this.name}: type id ${id} is out of range (1..${this.typeCount})`);
    return this.#offsets[i]!;
  }

  /** BTF_KIND_* of a type; 0 (UNKN) for void (id 0). */
  kindOf(id: number): number {
    if (id === 0) return 0;
    const i = id - this.startId;
    if (i >= 0 && i < this.#count) return this.#kinds[i]!;
    if (id < this.startId && this.base) return this.base.kindOf(id);
    return (this.#words[this.#at(id) + 1]! >>> 24) & 0x1f;
  }
  /** vlen (member / value / param count; linkage for FUNC). */
  vlenOf(id: number): number {
    if (id < this.startId && this.base) return this.base.vlenOf(id);
    return this.#words[this.#at(id) + 1]! & 0xffff;
  }
  kindFlagOf(id: number): boolean {
    if (id < this.startId && this.base) return this.base.kindFlagOf(id);
    return this.#words[this.#at(id) + 1]! >>> 31 === 1;
  }
  /** The third header word: a size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT/ENUM64, a type id otherwise. */
  sizeOrTypeOf(id: number): number {
    if (id < this.startId && this.base) return this.base.sizeOrTypeOf(id);
    return this.#words[this.#at(id) + 2]!;
  }
  nameOffOf(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId && this.base) return this.base.nameOffOf(id);
    return this.#words[this.#at(id)]!;
  }
  /** The type's name ('' when anonymous or void). */
  nameOf(id: number): string {
    return this.str(this.nameOffOf(id));
  }

  /** The NUL-terminated string at offset `off` of the string section (base strings first for split BTF). */
  str(off: number): string {
    if (off < this.startStrOff) return this.base!.str(off);
    const o = off - this.startStrOff;
    const s = this.#strings;
    if (o >= s.length) {
      if (off === 0) return '';
      throw new BtfError(`${this.name}: string offset ${off} is past the end of the string section (${this.startStrOff + s.length})`);
    }
    if (s[o] === 0) return '';
    return (s as unknown as Utf8Sliceable).utf8Slice(o, this.#strBytes.indexOf(0, o));
  }

  // ---- raw accessors --------------------------------------------------------
  // Single fields read straight from the type words: no object, no string. For
  // CO-RE's walks along an access path (parseSpec, calcFieldRelo), which read
  // one member per step and would otherwise decode every struct on the path.
  // The caller checks the kind; `i` is not bounds-checked against vlen
  // (callers check it against vlenOf(id)).

  /** Word index of member/value/param `i` of `id` (after the header; `size` words each). */
  #item(id: number, i: number, size: number): number {
    return this.#at(id) + 3 + i * size;
  }
  /** Name offset of member `i` of STRUCT/UNION `id` (0 = anonymous). */
  memberNameOff(id: number, i: number): number {
    if (id < this.startId && this.base) return this.base.memberNameOff(id, i);
    return this.#words[this.#item(id, i, 3)]!;
  }
  /** Type id of member `i` of STRUCT/UNION `id`. */
  memberType(id: number, i: number): number {
    if (id < this.startId && this.base) return this.base.memberType(id, i);
    return this.#words[this.#item(id, i, 3) + 1]!;
  }
  /** Bit offset of member `i` of STRUCT/UNION `id` from the start of the struct. */
  memberBitOffset(id: number, i: number): number {
    if (id < this.startId && this.base) return this.base.memberBitOffset(id, i);
    const off = this.#words[this.#item(id, i, 3) + 2]!;
    // kind_flag: the offset word packs bitfield_size << 24 | bit_offset.
    return this.#words[this.#at(id) + 1]! >>> 31 === 1 ? off & 0xffffff : off;
  }
  /** Bitfield size of member `i` of STRUCT/UNION `id` (0: not a bitfield, or the pre-kind_flag encoding). */
  memberBitfieldSize(id: number, i: number): number {
    if (id < this.startId && this.base) return this.base.memberBitfieldSize(id, i);
    return this.#words[this.#at(id) + 1]! >>> 31 === 1 ? this.#words[this.#item(id, i, 3) + 2]! >>> 24 : 0;
  }
  /**
   * The members of STRUCT/UNION `id` as raw words, three per member: name
   * offset, type id, offset word (bit offset, or bitfield_size << 24 |
   * bit_offset when kindFlagOf(id)). A view, not a copy: one call for a walk
   * over every member without decoding them (CO-RE's member-name index). Read
   * it only: it may view the kernel's BTF, mapped read-only. The caller checks
   * the kind.
   */
  memberWords(id: number): Uint32Array {
    if (id < this.startId && this.base) return this.base.memberWords(id);
    const at = this.#at(id);
    const start = at + 3;
    return this.#words.subarray(start, start + 3 * (this.#words[at + 1]! & 0xffff));
  }
  /** Element type of ARRAY `id`. */
  arrayType(id: number): number {
    if (id < this.startId && this.base) return this.base.arrayType(id);
    return this.#words[this.#at(id) + 3]!;
  }
  /** Element count of ARRAY `id`. */
  arrayNelems(id: number): number {
    if (id < this.startId && this.base) return this.base.arrayNelems(id);
    return this.#words[this.#at(id) + 5]!;
  }
  /** The encoding word of INT `id`: encoding << 24 | bit offset << 16 | bits. */
  intInfo(id: number): number {
    if (id < this.startId && this.base) return this.base.intInfo(id);
    return this.#words[this.#at(id) + 3]!;
  }

  // ---- decoded types ------------------------------------------------------

  /** The decoded type `id` (cached; treat it as read-only). Throws BtfError for id 0 (void) or out of range. */
  type(id: number): BtfType {
    if (id < this.startId && this.base) return this.base.type(id);
    let t = this.#cache.get(id);
    if (t === undefined) {
      t = this.#decode(id);
      this.#cache.set(id, t);
    }
    return t;
  }

  /** Like type() but not cached: for one-off walks over every type. */
  decode(id: number): BtfType {
    if (id < this.startId && this.base) return this.base.decode(id);
    return this.#cache.get(id) ?? this.#decode(id);
  }

  /** `ref`, checked to name a type. `index` numbers the member/parameter/variable in the message (built only on failure). */
  #ref(id: number, ref: number, what: string, index = -1): number {
    if (!this.#mayExist(ref)) throw new BtfError(`${this.name}: type [${id}] ${what}${index >= 0 ? ` ${index}` : ''} refers to type ${ref} but the last type is ${this.typeCount}`);
    return ref;
  }

  #decode(id: number): BtfType {
    const w = this.#words;
    const at = this.#at(id);
    const info = w[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const name = this.str(w[at]!);
    const third = w[at + 2]!;
    const x = at + 3; // first word after the btf_type header
    switch (kind) {
      case BTF_KIND_INT: {
        const enc = w[x]!;
        return { kind, id, name, size: third, encoding: (enc >>> 24) & 0x0f, bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff };
      }
      case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
        return { kind, id, name, type: this.#ref(id, third, 'type') };
      case BTF_KIND_TYPE_TAG:
        return { kind, id, name, type: this.#ref(id, third, 'type'), kindFlag: kflag };
      case BTF_KIND_ARRAY:
        return { kind, id, name, type: this.#ref(id, w[x]!, 'element type'), indexType: this.#ref(id, w[x + 1]!, 'index type'), nelems: w[x + 2]! };
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0, p = x; i < vlen; i++, p += 3) {
          const off = w[p + 2]!;
          members[i] = {
            name: this.str(w[p]!), type: this.#ref(id, w[p + 1]!, 'member', i),
            // kind_flag: the offset word packs bitfield_size << 24 | bit_offset.
            bitOffset: kflag ? off & 0xffffff : off, bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        return { kind, id, name, size: third, kindFlag: kflag, members } as BtfType;
      }
      case BTF_KIND_ENUM: {
        const values: BtfEnumValue[] = new Array(vlen);
        for (let i = 0, p = x; i < vlen; i++, p += 2)
          values[i] = { name: this.str(w[p]!), value: kflag ? w[p + 1]! | 0 : w[p + 1]! };
        return { kind, id, name, size: third, signed: kflag, values };
      }
      case BTF_KIND_ENUM64: {
        const values: BtfEnum64Value[] = new Array(vlen);
        for (let i = 0, p = x; i < vlen; i++, p += 3) {
          const u = (BigInt(w[p + 2]!) << 32n) | BigInt(w[p + 1]!);
          values[i] = { name: this.str(w[p]!), value: kflag ? BigInt.asIntN(64, u) : u };
        }
        return { kind, id, name, size: third, signed: kflag, values };
      }
      case BTF_KIND_FWD:
        return { kind, id, name, union: kflag };
      case BTF_KIND_FUNC:
        return { kind, id, name, type: this.#ref(id, third, 'prototype'), linkage: vlen };
      case BTF_KIND_FUNC_PROTO: {
        const params: BtfParam[] = new Array(vlen);
        for (let i = 0, p = x; i < vlen; i++, p += 2)
          params[i] = { name: this.str(w[p]!), type: this.#ref(id, w[p + 1]!, 'parameter', i) };
        return { kind, id, name, type: this.#ref(id, third, 'return type'), params };
      }
      case BTF_KIND_VAR:
        return { kind, id, name, type: this.#ref(id, third, 'type'), linkage: w[x]! };
      case BTF_KIND_DATASEC: {
        const vars: BtfVarSecinfo[] = new Array(vlen);
        for (let i = 0, p = x; i < vlen; i++, p += 3)
          vars[i] = { type: this.#ref(id, w[p]!, 'variable', i), offset: w[p + 1]!, size: w[p + 2]! };
        return { kind, id, name, size: third, vars };
      }
      case BTF_KIND_FLOAT:
        return { kind, id, name, size: third };
      case BTF_KIND_DECL_TAG:
        return { kind, id, name, type: this.#ref(id, third, 'type'), componentIdx: w[x]! | 0, kindFlag: kflag };
      default:
        throw new BtfError(`${this.name}: type [${id}] has unknown kind ${kind}`);
    }
  }

  // ---- lookup by name -----------------------------------------------------

  /** The name index of one kind, built on first use (cost: the rest of the header pass, then hashing the names of that kind). */
  #index(kind: number): NameIndex {
    let idx = this.#names[kind];
    if (!idx) {
      const t0 = performance.now();
      this.#scanAll();
      idx = NameIndex.build(this.#words, this.#offsets, this.#kinds, kind, this.#strBytes, this.startStrOff, this.base);
      this.#names[kind] = idx;
      log('%s: name index for %s (%d types) built in %s ms', this.name, BTF_KIND_NAMES[kind], idx.size, (performance.now() - t0).toFixed(2));
    }
    return idx;
  }

  /** Ids of every type named `name` (optionally only of kind `kind`), ascending; base types first. */
  findByName(name: string, kind?: number): number[] {
    const out = this.base ? this.base.findByName(name, kind) : [];
    if (name === '') return out;
    if (kind !== undefined) {
      if (kind > 0 && kind < NR_BTF_KINDS) this.#index(kind).lookup(name, this.startId, out);
      return out;
    }
    const local: number[] = [];
    for (let k = 1; k < NR_BTF_KINDS; k++) this.#index(k).lookup(name, this.startId, local);
    return out.concat(local.sort((a, b) => a - b));
  }

  /**
   * Ids of every type of kind `kind` whose essential name is `name`: named
   * `name`, or `name___<flavor>` (CO-RE's flavors, see essentialNameLen),
   * ascending, base types first. This is CO-RE's candidate search (libbpf's
   * bpf_core_add_cands), which must see every such type, so it completes a
   * lazy header pass.
   *
   * No hash index is involved (one could not answer the flavored names): the
   * key array (kind + the name's first two bytes, see the header pass) is
   * searched natively, ~0.05 ms for vmlinux's 126k types, and the few hits have
   * their bytes compared. That replaces building the kind's name index (5+ ms
   * for vmlinux's STRUCTs in a fresh process) and a search of the whole string
   * section for "___".
   */
  findByEssentialName(name: string, kind: number): number[] {
    const out = this.base ? this.base.findByEssentialName(name, kind) : [];
    if (name === '' || !(kind > 0 && kind < NR_BTF_KINDS)) return out;
    this.#scanAll();
    const q = Buffer.from(name, 'utf8');
    // A name that has a flavor itself is nobody's essential name.
    const exactAllowed = essentialNameLen(name) === name.length;
    const words = this.#words;
    const offsets = this.#offsets;
    // A key holds the name's first two bytes. After a one-byte name comes NUL
    // (the name itself) or '_' (a flavor): two keys to search then.
    const seconds = q.length > 1 ? [q[1]!] : [0, 0x5f];
    const local: number[] = [];
    for (const second of seconds) {
      for (const i of this.#keyHits(kind | q[0]! << 8 | second << 16)) {
        const off = words[offsets[i]!]!;
        const m = nameStartsWith(off, q, this.#strBytes, this.startStrOff, this.base);
        // "name___x": the bytes match; the name's last flavor separator must sit right after `name`.
        if (m === NAME_EQUAL ? exactAllowed : m === NAME_FLAVORED && essentialNameLen(this.str(off)) === name.length) local.push(this.startId + i);
      }
    }
    if (seconds.length > 1) local.sort((a, b) => a - b);
    return out.concat(local);
  }

  /**
   * Indexes (id - startId) of every type whose key is `key`, ascending: one
   * native pass over the keys of a complete header pass, remembered (names
   * sharing their first two bytes, such as "file" and "files_struct", share it).
   */
  #keyHits(key: number): readonly number[] {
    let hits = this.#hits.get(key);
    if (hits === undefined) {
      const found: number[] = [];
      const keys = this.#keys;
      for (let i = keys.indexOf(key); i !== -1; i = keys.indexOf(key, i + 1)) found.push(i);
      this.#hits.set(key, (hits = found));
    }
    return hits;
  }

  /** The first type named `name` of kind `kind` (libbpf's btf__find_by_name_kind): 0 for "void", -1 if none. */
  findByNameKind(name: string, kind: number): number {
    if (name === 'void' && kind === 0) return 0;
    if (this.base) {
      const id = this.base.findByNameKind(name, kind);
      if (id > 0) return id;
    }
    if (name === '' || !(kind > 0 && kind < NR_BTF_KINDS)) return -1;
    if (this.#names[kind] === undefined && this.#linearSpent[kind]! < LINEAR_BUDGET) return this.#findFirstLinear(name, kind);
    return this.#index(kind).first(name, this.startId);
  }

  /**
   * The first local type of `kind` named `name`: the candidates are the types
   * whose key (kind, first two name bytes) matches, in id order; the header pass
   * runs only as far as the match. Hands over to the hash index once the kind's
   * LINEAR_BUDGET is spent.
   */
  #findFirstLinear(name: string, kind: number): number {
    const q = Buffer.from(name, 'utf8');
    const key = kind | q[0]! << 8 | (q.length > 1 ? q[1]! : 0) << 16;
    const words = this.#words;
    const left = LINEAR_BUDGET - this.#linearSpent[kind]!;
    let compares = 0;
    let found = -1;
    let i = 0;
    for (;; i++) {
      // Unrecorded slots hold 0, which is no key, so indexOf stops at the pass's frontier.
      i = this.#keys.indexOf(key, i);
      if (i < 0) {
        i = this.#count;
        if (this.#scanAt >= words.length) break;
        i--;
        this.#scanMore();
        continue;
      }
      if (++compares + (i >>> 5) > left) {
        this.#linearSpent[kind] = LINEAR_BUDGET;
        return this.#index(kind).first(name, this.startId);
      }
      if (nameEquals(words[this.#offsets[i]!]!, q, this.#strBytes, this.startStrOff, this.base)) {
        found = this.startId + i;
        break;
      }
    }
    this.#linearSpent[kind] += compares + (i >>> 5);
    return found;
  }

  // ---- iteration ----------------------------------------------------------

  /** Every type id of this blob (local ids only for split BTF). */
  *ids(): IterableIterator<number> {
    for (let id = this.startId, last = this.typeCount; id <= last; id++) yield id;
  }
  /** Every local type, decoded without caching. */
  *types(): IterableIterator<BtfType> {
    for (let id = this.startId, last = this.typeCount; id <= last; id++) yield this.decode(id);
  }
  [Symbol.iterator](): IterableIterator<BtfType> { return this.types(); }

  /** Kind name as bpftool prints it ("STRUCT"), for messages. */
  kindName(id: number): string { return BTF_KIND_NAMES[this.kindOf(id)] ?? 'UNKNOWN'; }
}

/**
 * The header pass's loop, a plain function (V8 optimizes it on the fly): record
 * the types from word `off` on, into slots `count` up to `stop`, until the end
 * of the section. Stops with `bad` at a header that is invalid or truncated.
 */
function scanHeaders(words: Uint32Array, off: number, offsets: Uint32Array, kinds: Uint8Array, keys: Uint32Array,
  count: number, stop: number, strs: Uint8Array, strOff: number, base: Btf | undefined): { off: number; count: number; bad: boolean } {
  const total = words.length;
  while (count < stop && off < total) {
    const info = words[off + 1]!; // undefined (-> kind 0, invalid) when the header is truncated
    const kind = (info >>> 24) & 0x1f;
    const len = BASE_WORDS[kind]! + VLEN_WORDS[kind]! * (info & 0xffff);
    if (len === 0 || off + len > total) return { off, count, bad: true };
    const p = words[off]! - strOff;
    keys[count] = p >= 0 ? kind | strs[p]! << 8 | strs[p + 1]! << 16 : kind | namePrefix(p + strOff, strs, strOff, base) << 8;
    offsets[count] = off;
    kinds[count++] = kind;
    off += len;
  }
  return { off, count, bad: false };
}

/** Words of a type = BASE_WORDS[kind] + VLEN_WORDS[kind] * vlen; BASE_WORDS 0 marks an invalid kind. */
const BASE_WORDS = new Uint8Array(32);
const VLEN_WORDS = new Uint8Array(32);
for (let k = 1; k < NR_BTF_KINDS; k++) {
  const fixed = btfTypeWords(k, 0);
  BASE_WORDS[k] = fixed;
  VLEN_WORDS[k] = btfTypeWords(k, 1) - fixed;
}
