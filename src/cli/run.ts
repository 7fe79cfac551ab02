// `tsbpf run OBJ`: open, set .rodata, load, auto-attach, stream ring/perf
// buffer records as JSON lines until Ctrl-C / SIGTERM / --duration, then
// print the object's maps and destroy everything (links first).
import { BTF_KIND_DATASEC, BTF_KIND_FWD, BTF_KIND_FUNC, BTF_KIND_VAR, type Btf } from '../btf/index.ts';
import { decodeToJson, hex } from '../codegen/decode.ts';
import { TsbpfError } from '../errors.ts';
import { isPerCpuMapType, MapType } from '../maps/index.ts';
import { BpfObject, objectNameOf } from '../object/index.ts';
import { PerfBuffer, RingBuffer } from '../ringbuf/index.ts';
import { ArgError, parse, secondsArg } from './args.ts';
import { out } from './output.ts';

const SPEC = {
  usage: 'tsbpf run OBJ [--set NAME=VALUE...] [--events MAP[:TYPE]...] [--duration S] [-v]',
  summary: 'Open the object, set global variables (--set, before load: .rodata and friends), load it (CO-RE against this kernel), attach every program whose section names its target, and print each ring-buffer / perf-buffer record as one JSON line ({"map":..., "data":...}), decoded through the BTF type TYPE when given (else hex). Without --events, every ring buffer and perf event array of the object is read. Ctrl-C, SIGTERM or --duration stops: the maps are printed (one JSON line each) and every link, program and map is released. A verifier failure prints its summary and the source line; -v prints the whole verifier log.',
  options: {
    set: { type: 'string' as const, short: 's', multiple: true as const },
    events: { type: 'string' as const, short: 'e', multiple: true as const },
    duration: { type: 'string' as const, short: 'd' },
    verbose: { type: 'boolean' as const, short: 'v' },
    'no-maps': { type: 'boolean' as const },
  },
  optionHelp: {
    set: 'NAME=VALUE: a global variable (integer, true/false, or a string for char arrays)',
    events: 'MAP[:TYPE]: stream this ring buffer / perf event array, decoding records as struct TYPE',
    duration: 'stop after S seconds',
    verbose: 'the whole verifier log on a load failure',
    'no-maps': 'do not print the maps when stopping',
  },
  positionals: [1, 1] as [number, number],
  examples: ['tsbpf run bpf/bootstrap.bpf.o --set min_duration_ns=1000000 --events rb:event', 'tsbpf run bpf/syscount.bpf.o --duration 5'],
};

/** "123", "-1", "0x10", "true", or a string. */
function parseValue(s: string): number | bigint | boolean | string {
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?(0x[0-9a-f]+|\d+)$/i.test(s)) {
    const b = BigInt(s);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  return s;
}

/** A type id by name in the object's BTF: structs/unions/typedefs first. */
function typeByName(btf: Btf | undefined, name: string, obj: string): number {
  if (!btf) throw new TsbpfError(`${obj}: the object has no BTF to decode events as "${name}"`);
  const stripped = name.replace(/^(struct|union|enum)\s+/, '');
  const ids = btf.findByName(stripped).filter((id) => ![BTF_KIND_FUNC, BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FWD].includes(btf.kindOf(id) as 12));
  if (!ids.length) throw new TsbpfError(`${obj}: no type named "${name}" in the object's BTF`);
  return ids[0]!;
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, SPEC);
  const path = positionals[0]!;
  const duration = values.duration !== undefined ? secondsArg('--duration', values.duration, SPEC.usage) : undefined;
  const sets = (values.set ?? []).map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ArgError(`--set needs NAME=VALUE, got "${s}"`, SPEC.usage);
    return { name: s.slice(0, eq), value: parseValue(s.slice(eq + 1)) };
  });

  const { readInput } = await import('./inspect.ts');
  const obj = BpfObject.open(readInput(path), { name: objectNameOf(path) });
  const spec = obj.spec;

  for (const { name, value } of sets) {
    const g = spec.globals.find((x) => x.name === name);
    if (!g) throw new ArgError(`${path}: no global variable "${name}" (has: ${spec.globals.map((x) => x.name).join(', ') || 'none'})`, SPEC.usage);
    const v = typeof value === 'number' && g.size === 8 ? BigInt(value) : value;
    obj.globals(g.map).set(name, v);
  }

  // Which buffers to read, decoded as what.
  const streams = (values.events?.length ? values.events : spec.maps.filter((m) => m.spec.type === MapType.BPF_MAP_TYPE_RINGBUF || m.spec.type === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY).map((m) => m.name)).map((e) => {
    const [map, type] = e.split(':', 2) as [string, string | undefined];
    const m = spec.maps.find((x) => x.name === map);
    if (!m) throw new ArgError(`${path}: no map "${map}" (has: ${spec.maps.map((x) => x.name).join(', ')})`, SPEC.usage);
    if (m.spec.type !== MapType.BPF_MAP_TYPE_RINGBUF && m.spec.type !== MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY)
      throw new ArgError(`${path}: map "${map}" is not a ring buffer or perf event array`, SPEC.usage);
    return { map, perf: m.spec.type === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, typeId: type ? typeByName(spec.btf, type, path) : 0 };
  });

  try {
    obj.load();
  } catch (e) {
    if (e instanceof Error && e.name === 'ProgramLoadError') {
      const le = e as Error & { log: string };
      process.stderr.write(`tsbpf run: ${e.message}\n`);
      if (values.verbose && le.log) process.stderr.write(`--- verifier log ---\n${le.log}\n`);
      else if (le.log) process.stderr.write('(-v prints the whole verifier log)\n');
      await obj.destroy();
      return 1;
    }
    await obj.destroy();
    throw e;
  }

  const sources: { close(): void }[] = [];
  try {
    obj.attachAll({ mount: true });
    for (const s of streams) {
      const bpfMap = obj.map(s.map).map!;
      const emit = (view: DataView, off: number, size: number, cpu?: number): void => {
        const bytes = new Uint8Array(view.buffer, view.byteOffset + off, size);
        let data: unknown;
        try {
          data = s.typeId ? decodeToJson(spec.btf!, s.typeId, bytes) : hex(bytes);
        } catch {
          data = hex(bytes);
        }
        out(JSON.stringify(cpu === undefined ? { map: s.map, data } : { map: s.map, cpu, data }));
      };
      if (s.perf) {
        const pb = new PerfBuffer(bpfMap, { onLost: (cpu, lost) => out(JSON.stringify({ map: s.map, cpu, lost })) });
        pb.start((view, off, size, ring) => emit(view, off, size, ring));
        sources.push(pb);
      } else {
        const rb = new RingBuffer(bpfMap);
        rb.start((view, off, size) => emit(view, off, size));
        sources.push(rb);
      }
    }
    process.stderr.write(`tsbpf run: ${path} loaded, ${obj.links.length} link(s) attached${streams.length ? `, streaming ${streams.map((s) => s.map).join(', ')}` : ''}; Ctrl-C stops\n`);

    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (duration !== undefined) setTimeout(stop, duration * 1000);
    });
  } finally {
    for (const s of sources) s.close();
    if (!values['no-maps'] && obj.state === 'loaded') printMaps(obj);
    await obj.destroy();
  }
  return 0;
}

/** Every map with entries, one JSON line each, decoded through the object's BTF (at most 256 entries per map). */
function printMaps(obj: BpfObject): void {
  const btf = obj.spec.btf;
  for (const m of obj.spec.maps) {
    const live = obj.map(m.name).map;
    if (!live) continue;
    const t = m.spec.type;
    if (t === MapType.BPF_MAP_TYPE_RINGBUF || t === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY || t === MapType.BPF_MAP_TYPE_USER_RINGBUF
      || t === MapType.BPF_MAP_TYPE_QUEUE || t === MapType.BPF_MAP_TYPE_STACK || t === MapType.BPF_MAP_TYPE_BLOOM_FILTER
      || t === MapType.BPF_MAP_TYPE_PROG_ARRAY || t === MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS || t === MapType.BPF_MAP_TYPE_HASH_OF_MAPS) continue;
    const dec = (id: number, b: Uint8Array): unknown => {
      try { return btf && id ? decodeToJson(btf, id, b) : hex(b); } catch { return hex(b); }
    };
    const entries: unknown[] = [];
    try {
      const perCpu = isPerCpuMapType(t);
      for (const k of live.keys()) {
        if (entries.length >= 256) break;
        if (perCpu) {
          const v = live.lookupPerCpu(k);
          if (v) entries.push({ key: dec(m.btfKeyTypeId, k), values: v.map((x) => dec(m.btfValueTypeId, x)) });
        } else {
          const v = live.lookup(k);
          if (v) entries.push({ key: dec(m.btfKeyTypeId, k), value: dec(m.btfValueTypeId, v) });
        }
      }
    } catch {
      continue;
    }
    out(JSON.stringify({ map: m.name, entries }));
  }
}
