// `tsbpf prog|map|link list|show ID` and `tsbpf map dump ID|PINPATH`: what the
// kernel holds, like bpftool. Listing only reads (see kernel_info.ts).
import { BTF_KIND_ARRAY, BTF_KIND_INT, BTF_KIND_STRUCT, type Btf, type BtfComposite, typeToC, skipModsAndTypedefs } from '../btf/index.ts';
import { decodeToJson, hex } from '../codegen/decode.ts';
import { BpfMap, isPerCpuMapType, MapType } from '../maps/index.ts';
import { formatLinearHist, formatLog2Hist } from '../report/hist.ts';
import { BpfCmd } from '../syscall/index.ts';
import { TsbpfError } from '../errors.ts';
import { ArgError, intArg, parse } from './args.ts';
import { kernelBtfById, listIds, type LinkRecord, type MapRecord, mapRecordOf, type ProgRecord, readAll, readLink, readMap, readProg } from './kernel_info.ts';
import { bytesHuman, out, outJson, table } from './output.ts';

function listOrShow(kind: string, args: string[], extra = ''): { sub: 'list' | 'show'; id?: number; json: boolean } {
  const usage = `tsbpf ${kind} list|show ID [--json]${extra}`;
  const spec = {
    usage,
    summary: `List the ${kind}s the kernel holds, or show one by id (like bpftool ${kind}). Reads only: nothing is detached or closed. Needs root (CAP_SYS_ADMIN to walk ids).`,
    options: {},
    json: true,
    positionals: [1, 2] as [number, number],
    examples: [`tsbpf ${kind} list`, `tsbpf ${kind} show 42 --json`],
  };
  const { values, positionals } = parse(args, spec);
  const sub = positionals[0];
  if (sub === 'list') {
    if (positionals.length > 1) throw new ArgError(`"${kind} list" takes no argument`, usage);
    return { sub, json: values.json === true };
  }
  if (sub === 'show') {
    if (positionals[1] === undefined) throw new ArgError(`"${kind} show" needs an ID`, usage);
    return { sub, id: intArg('ID', positionals[1], usage), json: values.json === true };
  }
  throw new ArgError(`unknown ${kind} subcommand "${sub}" (list, show${kind === 'map' ? ', dump' : ''})`, usage);
}

/** Read one object by id; "no such id" as one clear line. */
function one<T>(kind: string, id: number, read: (id: number) => T): T {
  try {
    return read(id);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw new TsbpfError(`no ${kind} with id ${id}`, { cause: e });
    throw e;
  }
}

function progText(p: ProgRecord, long: boolean): string {
  const lines = [`${p.id}: ${p.type}  name ${p.name || '-'}  tag ${p.tag}${p.gplCompatible ? '  gpl' : ''}`];
  lines.push(`\tloaded_at ${p.loadedAt}  uid ${p.uid}`);
  lines.push(`\txlated ${p.xlatedBytes}B  jited ${p.jitedBytes}B${p.memlockBytes !== null ? `  memlock ${p.memlockBytes}B` : ''}${p.mapIds.length ? `  map_ids ${p.mapIds.join(',')}` : ''}${p.btfId ? `  btf_id ${p.btfId}` : ''}`);
  if (p.attachTarget) lines.push(`\tattach_target ${p.attachTarget}`);
  if (long) lines.push(`\tverified_insns ${p.verifiedInsns}  run_cnt ${p.runCnt}  run_time_ns ${p.runTimeNs}`);
  return lines.join('\n');
}

function mapText(m: MapRecord): string {
  return [
    `${m.id}: ${m.type}  name ${m.name || '-'}  flags ${m.flags}`,
    `\tkey ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}${m.memlockBytes !== null ? `  memlock ${m.memlockBytes}B (${bytesHuman(m.memlockBytes)})` : ''}${m.btfId ? `  btf_id ${m.btfId}` : ''}${m.frozen ? '  frozen' : ''}`,
  ].join('\n');
}

function linkText(l: LinkRecord): string {
  const det = Object.entries(l.details).map(([k, v]) => `  ${k} ${v}`).join('');
  return `${l.id}: ${l.type}  prog ${l.progId}${l.target ? `  ${l.target}` : ''}${det}`;
}

export async function progMain(args: string[]): Promise<number> {
  const a = listOrShow('prog', args);
  if (a.sub === 'show') {
    const p = one('program', a.id!, readProg);
    if (a.json) outJson(p);
    else out(progText(p, true));
    return 0;
  }
  const all = readAll(listIds(BpfCmd.BPF_PROG_GET_NEXT_ID), readProg);
  if (a.json) outJson(all);
  else if (all.length) out(all.map((p) => progText(p, false)).join('\n'));
  return 0;
}

export async function linkMain(args: string[]): Promise<number> {
  const a = listOrShow('link', args);
  if (a.sub === 'show') {
    const l = one('link', a.id!, readLink);
    if (a.json) outJson(l);
    else out(linkText(l));
    return 0;
  }
  const all = readAll(listIds(BpfCmd.BPF_LINK_GET_NEXT_ID), readLink);
  if (a.json) outJson(all);
  else if (all.length) out(all.map(linkText).join('\n'));
  return 0;
}

export async function mapMain(args: string[]): Promise<number> {
  if (args[0] === 'dump') return dumpMain(args.slice(1));
  const a = listOrShow('map', args, '\n       tsbpf map dump ID|PINPATH [--hist] [--json]');
  if (a.sub === 'show') {
    const m = one('map', a.id!, readMap);
    if (a.json) outJson(m);
    else out(mapText(m));
    return 0;
  }
  const all = readAll(listIds(BpfCmd.BPF_MAP_GET_NEXT_ID), readMap);
  if (a.json) outJson(all);
  else if (all.length) out(all.map(mapText).join('\n'));
  return 0;
}

// ---------------------------------------------------------------- map dump

const DUMP = {
  usage: 'tsbpf map dump ID|PINPATH [--hist] [--linear BASE,STEP] [--unit NAME] [--json]',
  summary: 'Print every entry of a map, decoded through the map\'s BTF when it has one (hex otherwise); per-CPU maps show one value per CPU. With --hist, a map of histogram buckets is drawn as libbpf-tools draws it: an array/hash from a slot index to a count (summed over CPUs), or values holding a `slots` array (one histogram per key). Buckets are log2 unless --linear gives the first bucket and the step.',
  options: {
    hist: { type: 'boolean' as const },
    linear: { type: 'string' as const },
    unit: { type: 'string' as const },
  },
  optionHelp: { hist: 'draw the buckets as a terminal histogram', linear: 'linear buckets: BASE,STEP (default: log2)', unit: 'what the values count, for the header (default "value")' },
  json: true,
  positionals: [1, 1] as [number, number],
  examples: ['tsbpf map dump 12', 'tsbpf map dump /sys/fs/bpf/my_map --json', 'tsbpf map dump 12 --hist --unit usecs'],
};

interface DumpEntry {
  key: unknown;
  value?: unknown;
  values?: { cpu: number; value: unknown }[];
}

function openMap(ref: string): BpfMap {
  try {
    if (/^\d+$/.test(ref)) return BpfMap.fromId(Number(ref), { readOnly: true });
    if (ref.startsWith('/')) return BpfMap.fromPinned(ref, { readOnly: true });
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT' && /^\d+$/.test(ref)) throw new TsbpfError(`no map with id ${ref}`, { cause: e });
    throw e;
  }
  throw new ArgError(`"${ref}" is neither a map id nor an absolute pin path`, DUMP.usage);
}

/** A decoder for keys or values: through BTF when the type is known and sized right, else hex. */
function decoderFor(btf: Btf | undefined, typeId: number, size: number): (b: Uint8Array) => unknown {
  if (btf && typeId > 0) {
    return (b) => {
      try {
        return decodeToJson(btf, typeId, b.subarray(0, size));
      } catch {
        return hex(b);
      }
    };
  }
  return (b) => hex(b);
}

async function dumpMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, DUMP);
  const map = openMap(positionals[0]!);
  try {
    const rec = mapRecordOf(map.fd, `map ${positionals[0]}`);
    let btf: Btf | undefined;
    if (rec.btfId) {
      try { btf = kernelBtfById(rec.btfId); } catch { btf = undefined; }
    }
    if (values.hist) return dumpHist(map, rec, btf, values.linear, values.unit ?? 'value', values.json === true);
    if (map.type === MapType.BPF_MAP_TYPE_RINGBUF || map.type === MapType.BPF_MAP_TYPE_USER_RINGBUF || map.type === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY
      || map.type === MapType.BPF_MAP_TYPE_QUEUE || map.type === MapType.BPF_MAP_TYPE_STACK || map.type === MapType.BPF_MAP_TYPE_BLOOM_FILTER)
      throw new TsbpfError(`map ${rec.id} (${rec.name}) is a ${rec.type}: it has no entries to dump`);
    const key = decoderFor(btf, rec.btfKeyTypeId, rec.keySize);
    const value = decoderFor(btf, rec.btfValueTypeId, rec.valueSize);
    const perCpu = isPerCpuMapType(map.type);
    const entries: DumpEntry[] = [];
    for (const k of map.keys()) {
      if (perCpu) {
        const v = map.lookupPerCpu(k);
        if (v) entries.push({ key: key(k), values: v.map((x, cpu) => ({ cpu, value: value(x) })) });
      } else {
        const v = map.lookup(k);
        if (v) entries.push({ key: key(k), value: value(v) });
      }
    }
    if (values.json) outJson(entries);
    else {
      const lines: string[] = [];
      if (btf && (rec.btfKeyTypeId || rec.btfValueTypeId)) lines.push(`# ${rec.name}: key ${rec.btfKeyTypeId ? typeToC(btf, rec.btfKeyTypeId) : `${rec.keySize}B`}, value ${rec.btfValueTypeId ? typeToC(btf, rec.btfValueTypeId) : `${rec.valueSize}B`}`);
      for (const e of entries) {
        if (e.values) lines.push(`${JSON.stringify(e.key)}:`, ...e.values.map((v) => `  cpu${v.cpu}: ${JSON.stringify(v.value)}`));
        else lines.push(`${JSON.stringify(e.key)}: ${JSON.stringify(e.value)}`);
      }
      lines.push(`Found ${entries.length} element${entries.length === 1 ? '' : 's'}`);
      out(lines.join('\n'));
    }
    return 0;
  } finally {
    map.close();
  }
}

/** An unsigned integer of `size` bytes (little-endian) as a number. */
function uint(b: Uint8Array, size: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (size === 8) return Number(dv.getBigUint64(0, true));
  if (size === 4) return dv.getUint32(0, true);
  if (size === 2) return dv.getUint16(0, true);
  return dv.getUint8(0);
}

/** Where the slots array sits in a value: byte offset, element size, count (from BTF: a member named slots, else the first array of ints). */
function slotsLayout(btf: Btf | undefined, valueTypeId: number): { off: number; esize: number; n: number } | undefined {
  if (!btf || !valueTypeId) return undefined;
  const id = skipModsAndTypedefs(btf, valueTypeId);
  const asArray = (aid: number, off: number) => {
    const a = skipModsAndTypedefs(btf, aid);
    if (btf.kindOf(a) !== BTF_KIND_ARRAY) return undefined;
    const elem = skipModsAndTypedefs(btf, btf.arrayType(a));
    if (btf.kindOf(elem) !== BTF_KIND_INT) return undefined;
    return { off, esize: btf.sizeOrTypeOf(elem), n: btf.arrayNelems(a) };
  };
  if (btf.kindOf(id) === BTF_KIND_ARRAY) return asArray(id, 0);
  if (btf.kindOf(id) !== BTF_KIND_STRUCT) return undefined;
  const t = btf.type(id) as BtfComposite;
  const m = t.members.find((x) => x.name === 'slots') ?? t.members.find((x) => asArray(x.type, 0) !== undefined);
  return m ? asArray(m.type, m.bitOffset / 8) : undefined;
}

function dumpHist(map: BpfMap, rec: MapRecord, btf: Btf | undefined, linear: string | undefined, unit: string, json: boolean): number {
  let base = 0;
  let step = 0;
  if (linear !== undefined) {
    const m = /^(\d+),(\d+)$/.exec(linear);
    if (!m || Number(m[2]) === 0) throw new ArgError(`--linear must be BASE,STEP with STEP > 0, got "${linear}"`, DUMP.usage);
    base = Number(m[1]);
    step = Number(m[2]);
  }
  const render = (counts: number[]) => (linear !== undefined ? formatLinearHist(counts, base, step, unit) : formatLog2Hist(counts, unit));
  const perCpu = isPerCpuMapType(map.type);
  const read = (k: Uint8Array): Uint8Array[] => (perCpu ? map.lookupPerCpu(k) ?? [] : [map.lookup(k)].filter((v): v is Uint8Array => v !== undefined));
  const slots = slotsLayout(btf, rec.btfValueTypeId);
  const hists: { key: unknown; counts: number[] }[] = [];
  if (slots) {
    const key = decoderFor(btf, rec.btfKeyTypeId, rec.keySize);
    for (const k of map.keys()) {
      const counts = new Array<number>(slots.n).fill(0);
      for (const v of read(k)) for (let i = 0; i < slots.n; i++) counts[i]! += uint(v.subarray(slots.off + i * slots.esize), slots.esize);
      hists.push({ key: key(k), counts });
    }
  } else {
    if (![1, 2, 4, 8].includes(rec.keySize) || ![1, 2, 4, 8].includes(rec.valueSize))
      throw new TsbpfError(`map ${rec.id} (${rec.name}) does not look like a histogram: keys must be slot indexes (integers) and values counts, or values must hold a slots array; it has ${rec.keySize}-byte keys and ${rec.valueSize}-byte values${btf ? '' : ' and no BTF'}`);
    const counts: number[] = [];
    for (const k of map.keys()) {
      const slot = uint(k, rec.keySize);
      if (slot > 4096) throw new TsbpfError(`map ${rec.id} (${rec.name}): key ${slot} is not a plausible histogram slot`);
      let sum = 0;
      for (const v of read(k)) sum += uint(v, rec.valueSize);
      while (counts.length <= slot) counts.push(0);
      counts[slot] = sum;
    }
    hists.push({ key: null, counts });
  }
  if (json) outJson(hists);
  else {
    const parts = hists.map((h) => (h.key === null ? '' : `${typeof h.key === 'string' ? h.key : JSON.stringify(h.key)}:\n`) + (render(h.counts) || '(empty)\n'));
    process.stdout.write(parts.join('\n'));
  }
  return 0;
}
