// struct_ops registration: a BPF_MAP_TYPE_STRUCT_OPS map whose value (the
// kernel's bpf_struct_ops_<name>, with program fds in its function pointers)
// is written with BPF_MAP_UPDATE_ELEM. What registers the structure with the
// kernel subsystem (e.g. a TCP congestion control) depends on the map:
//  - plain `.struct_ops` maps: the update itself; deleting the element
//    (BPF_MAP_DELETE_ELEM) unregisters it. Closing the map does not: the
//    registered structure holds the map.
//  - `.struct_ops.link` maps (BPF_F_LINK, Linux 6.4+): the update only fills
//    the value; BPF_LINK_CREATE (prog_fd = the map's fd, attach type
//    BPF_STRUCT_OPS) registers it, and closing the link unregisters it.
import { createLog } from '../util/log.ts';
import { BPF_F_LINK } from '../maps/types.ts';
import { BpfAttachType } from '../prog/index.ts';
import { linkCreate, type FD } from '../syscall/index.ts';
import { AttachError } from './errors.ts';
import { BpfLink, Link } from './link.ts';

const log = createLog('tsbpf:attach');

/** What registration needs of a struct_ops map (src/maps' BpfMap has it). */
export interface StructOpsMap {
  readonly name: string;
  readonly fd: number;
  readonly flags: number;
  update(key: number, value: Uint8Array): void;
  delete(key: number): boolean;
}

/** A `.struct_ops.link` registration: closing the link unregisters the structure. */
export class StructOpsLink extends BpfLink {}

/** A `.struct_ops` registration: destroy() deletes the map's element, which unregisters it. */
export class StructOpsRegistration extends Link {
  readonly #map: StructOpsMap;
  constructor(map: StructOpsMap) {
    super(map.name, `struct_ops map ${map.name}`);
    this.#map = map;
  }
  /** The map's fd (owned by the map, not by this registration). */
  get fd(): number {
    return this.#map.fd;
  }
  protected override detach(): void {
    this.#map.delete(0);
    log('struct_ops map %s unregistered', this.#map.name);
  }
  protected closeOrder(): FD[] {
    return [];
  }
}

/** Register a struct_ops map's structure with the kernel: write `value`, then (link maps) create the link. */
export function attachStructOps(map: StructOpsMap, value: Uint8Array): Link {
  const target = `struct_ops map ${map.name}`;
  try {
    map.update(0, value);
  } catch (e) {
    throw new AttachError(map.name, target, `registering it (BPF_MAP_UPDATE_ELEM) failed: ${(e as Error).message}`, { cause: e });
  }
  if ((map.flags & BPF_F_LINK) === 0) {
    log('struct_ops map %s registered', map.name);
    return new StructOpsRegistration(map);
  }
  try {
    const fd = linkCreate({ prog_fd: map.fd, target_fd: 0, attach_type: BpfAttachType.BPF_STRUCT_OPS }, `registering ${target} with a struct_ops link`);
    log('struct_ops map %s registered through link fd %d', map.name, fd.value);
    return new StructOpsLink(map.name, target, fd);
  } catch (e) {
    throw new AttachError(map.name, target, (e as Error).message, { cause: e });
  }
}
