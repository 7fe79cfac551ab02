// BTF-defined maps: each variable in SEC(".maps") is an anonymous struct whose
// members encode the map's attributes in their *types* (bpf_helpers.h):
//   __uint(name, N)      -> int (*name)[N]          : the value is the array length
//   __type(name, T)      -> typeof(T) *name          : the pointee is the type
//   __array(name, T)     -> typeof(T) *name[]        : pointees are inner map defs / programs
// Initial slot values of `values` come from relocations in .rel.maps.
import { createLog } from '../util/log.ts';
import { resolveType, sizeof, type Btf, type BtfComposite, type BtfDatasec, BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_VAR } from '../btf/index.ts';
import { type ElfFile, type ElfSection, SHF_EXECINSTR, STT_FUNC } from '../elf/index.ts';
import { MapType } from '../maps/index.ts';
import { ObjectError } from './errors.ts';
import type { MapSlotInit, ObjectMapSpec } from './spec.ts';

const log = createLog('tsbpf:object');

/** LIBBPF_PIN_NONE / LIBBPF_PIN_BY_NAME */
const LIBBPF_PIN_BY_NAME = 1;

interface MapDef {
  type?: number;
  maxEntries?: number;
  mapFlags?: number;
  numaNode?: number;
  keySize?: number;
  keyTypeId?: number;
  valueSize?: number;
  valueTypeId?: number;
  pinning?: number;
  mapExtra?: number;
  /** `values`: byte offset of the member and the pointee (inner map def struct, or FUNC_PROTO for prog arrays). */
  values?: { offset: number; pointee: number };
}

/** Parse every map of the `.maps` section. */
export function parseBtfMaps(elf: ElfFile, btf: Btf | undefined, sec: ElfSection, objName: string): ObjectMapSpec[] {
  if (!btf) throw new ObjectError(objName, 'section .maps needs BTF (compile with -g): BTF-defined maps are described only in BTF');
  const dsId = btf.findByNameKind('.maps', BTF_KIND_DATASEC);
  if (dsId <= 0) throw new ObjectError(objName, 'section .maps has no DATASEC in BTF');
  const ds = btf.type(dsId) as BtfDatasec;
  const syms = elf.symbolsIn(sec.index);
  const maps: ObjectMapSpec[] = [];
  for (const v of ds.vars) {
    if (btf.kindOf(v.type) !== BTF_KIND_VAR) throw new ObjectError(objName, `.maps DATASEC entry ${v.type} is not a variable`);
    const name = btf.nameOf(v.type);
    const sym = syms.find((s) => s.name === name);
    if (!sym) throw new ObjectError(objName, `map "${name}": no symbol in section .maps`);
    const defId = resolveType(btf, (btf.type(v.type) as { type: number }).type);
    if (btf.kindOf(defId) !== BTF_KIND_STRUCT) throw new ObjectError(objName, `map "${name}": definition is not a struct`);
    const def = parseMapDef(btf, defId, name, objName);
    const m = toObjectMap(btf, def, name, objName);
    if (def.values) {
      m.slots = collectSlots(elf, sec, sym.value, sym.size, def.values.offset, name, objName);
      if (btf.kindOf(def.values.pointee) === BTF_KIND_STRUCT) {
        const innerDef = parseMapDef(btf, def.values.pointee, `${name}.inner`, objName);
        m.inner = toObjectMap(btf, innerDef, `${name}.inner`, objName);
      }
    }
    log('map "%s": type %s, key %d, value %d, max_entries %d%s', name, MapType[m.spec.type] ?? m.spec.type, m.spec.keySize, m.spec.valueSize, m.spec.maxEntries, m.slots.length ? `, ${m.slots.length} initial slots` : '');
    maps.push(m);
  }
  return maps;
}

function parseMapDef(btf: Btf, defId: number, mapName: string, objName: string): MapDef {
  const fail = (msg: string): never => {
    throw new ObjectError(objName, `map "${mapName}": ${msg}`);
  };
  const def: MapDef = {};
  const st = btf.type(defId) as BtfComposite;
  for (const m of st.members) {
    const uint = (): number => {
      const ptr = resolveType(btf, m.type);
      if (btf.kindOf(ptr) !== BTF_KIND_PTR) fail(`attribute "${m.name}" is not declared with __uint() (expected a pointer to an array)`);
      const arr = resolveType(btf, btf.sizeOrTypeOf(ptr));
      if (btf.kindOf(arr) !== BTF_KIND_ARRAY) fail(`attribute "${m.name}" is not declared with __uint() (expected a pointer to an array)`);
      return (btf.type(arr) as { nelems: number }).nelems;
    };
    const pointee = (): number => {
      const ptr = resolveType(btf, m.type);
      if (btf.kindOf(ptr) !== BTF_KIND_PTR) fail(`attribute "${m.name}" is not declared with __type() (expected a pointer)`);
      return btf.sizeOrTypeOf(ptr);
    };
    switch (m.name) {
      case 'type':
        def.type = uint();
        break;
      case 'max_entries':
        def.maxEntries = uint();
        break;
      case 'map_flags':
        def.mapFlags = uint();
        break;
      case 'numa_node':
        def.numaNode = uint();
        break;
      case 'key_size':
        def.keySize = uint();
        break;
      case 'value_size':
        def.valueSize = uint();
        break;
      case 'pinning':
        def.pinning = uint();
        if (def.pinning !== 0 && def.pinning !== LIBBPF_PIN_BY_NAME) fail(`pinning ${def.pinning} is not LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1)`);
        break;
      case 'map_extra':
        def.mapExtra = uint();
        break;
      case 'key': {
        const t = pointee();
        const size = sizeof(btf, t);
        if (def.keySize !== undefined && def.keySize !== size) fail(`key_size ${def.keySize} disagrees with sizeof(key) ${size}`);
        def.keySize = size;
        def.keyTypeId = t;
        break;
      }
      case 'value': {
        const t = pointee();
        const size = sizeof(btf, t);
        if (def.valueSize !== undefined && def.valueSize !== size) fail(`value_size ${def.valueSize} disagrees with sizeof(value) ${size}`);
        def.valueSize = size;
        def.valueTypeId = t;
        break;
      }
      case 'values': {
        // __array(values, T): a flexible array of pointers, the struct's last member.
        const arr = resolveType(btf, m.type);
        if (btf.kindOf(arr) !== BTF_KIND_ARRAY || (btf.type(arr) as { nelems: number }).nelems !== 0) fail('"values" must be declared with __array(values, ...)');
        const ptr = resolveType(btf, (btf.type(arr) as { type: number }).type);
        if (btf.kindOf(ptr) !== BTF_KIND_PTR) fail('"values" elements must be pointers');
        const target = resolveType(btf, btf.sizeOrTypeOf(ptr));
        const kind = btf.kindOf(target);
        if (kind !== BTF_KIND_STRUCT && kind !== BTF_KIND_UNION && kind !== BTF_KIND_FUNC_PROTO) fail('"values" must point to an inner map definition or a program prototype');
        if (m !== st.members[st.members.length - 1]) fail('"values" must be the last member');
        def.values = { offset: m.bitOffset / 8, pointee: target };
        break;
      }
      default:
        fail(`unknown attribute "${m.name}" in the map definition`);
    }
  }
  if (def.type === undefined) fail('no "type" attribute');
  return def;
}

function toObjectMap(btf: Btf, def: MapDef, name: string, objName: string): ObjectMapSpec {
  let keySize = def.keySize ?? 0;
  let valueSize = def.valueSize ?? 0;
  const type = def.type!;
  // Map-in-map and prog arrays hold 4-byte fds; perf event arrays default to u32 -> u32.
  if (def.values) {
    if (def.valueSize !== undefined && def.valueSize !== 4) throw new ObjectError(objName, `map "${name}": value_size must be 4 for a map with __array(values)`);
    valueSize = 4;
  }
  if (type === MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY || type === MapType.BPF_MAP_TYPE_CGROUP_ARRAY) {
    if (!keySize) keySize = 4;
    if (!valueSize) valueSize = 4;
  }
  return {
    name,
    kernelName: name.slice(0, 15),
    origin: 'btf',
    spec: {
      name: name.slice(0, 15).replace(/[^A-Za-z0-9_.]/g, '_'),
      type,
      keySize,
      valueSize,
      maxEntries: def.maxEntries ?? 0,
      flags: def.mapFlags ?? 0,
      numaNode: def.numaNode,
      mapExtra: def.mapExtra,
    },
    btfKeyTypeId: def.keyTypeId ?? 0,
    btfValueTypeId: def.valueTypeId ?? 0,
    slots: [],
    pinByName: def.pinning === LIBBPF_PIN_BY_NAME,
  };
}

/** Relocations inside a map's `values` array name what each slot initially holds. */
function collectSlots(elf: ElfFile, sec: ElfSection, varOff: number, varSize: number, valuesOff: number, mapName: string, objName: string): MapSlotInit[] {
  const slots: MapSlotInit[] = [];
  for (const rel of elf.relocationsFor(sec.index)) {
    if (rel.offset < varOff || (varSize > 0 && rel.offset >= varOff + varSize)) continue;
    const moff = rel.offset - varOff - valuesOff;
    if (moff < 0 || moff % 8 !== 0) throw new ObjectError(objName, `map "${mapName}": relocation at byte ${rel.offset} is not on a "values" slot`);
    const target = rel.symbol;
    const targetSec = elf.sections[target.shndx];
    const isProg = target.type === STT_FUNC && targetSec !== undefined && (targetSec.flags & SHF_EXECINSTR) !== 0;
    if (!isProg && targetSec?.name !== '.maps') throw new ObjectError(objName, `map "${mapName}": slot ${moff / 8} refers to "${target.name}", which is neither a program nor a map`);
    slots.push({ slot: moff / 8, target: target.name });
  }
  return slots.sort((a, b) => a.slot - b.slot);
}
