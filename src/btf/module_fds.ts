// The kernel's own BTF objects (vmlinux and each module's) as file
// descriptors, found by walking BTF ids (BPF_BTF_GET_NEXT_ID,
// BPF_BTF_GET_FD_BY_ID) and reading each one's name (BPF_OBJ_GET_INFO_BY_FD:
// kernel_btf set, name "vmlinux" or the module's). A program that calls a
// kfunc defined in a module, or reads a module's __ksym, names that module's
// BTF object by fd: in the load's fd_array (kfuncs) or in the instruction
// itself (ksyms), as libbpf does.
import { createLog } from '../util/log.ts';
import { BpfCmd, BtfInfo, getFdById, getNextId, objGetInfo, type FD } from '../syscall/index.ts';
import { BtfError } from './errors.ts';

const log = createLog('tsbpf:btf');

/**
 * Open the kernel BTF objects of the modules named in `modules`; the caller
 * owns (and closes) the returned fds. Throws BtfError naming the modules the
 * kernel has no BTF object for.
 */
export function openModuleBtfFds(modules: ReadonlySet<string>): Map<string, FD> {
  const out = new Map<string, FD>();
  if (modules.size === 0) return out;
  const name = Buffer.alloc(64);
  try {
    for (let id = getNextId(BpfCmd.BPF_BTF_GET_NEXT_ID, 0); id !== 0 && out.size < modules.size; id = getNextId(BpfCmd.BPF_BTF_GET_NEXT_ID, id)) {
      let fd: FD;
      try {
        fd = getFdById(BpfCmd.BPF_BTF_GET_FD_BY_ID, id);
      } catch {
        continue; // freed between the two calls
      }
      name.fill(0);
      const info = objGetInfo(fd.value, BtfInfo, `reading info of BTF id ${id}`, { name, name_len: name.length });
      const n = name.toString('utf8', 0, Math.max(0, name.indexOf(0)));
      if (info.get('kernel_btf') && modules.has(n) && !out.has(n)) {
        out.set(n, fd);
        log('module %s: BTF object id %d (fd %d)', n, id, fd.value);
      } else fd.close();
    }
  } catch (e) {
    for (const fd of out.values()) fd.close();
    throw e;
  }
  const missing = [...modules].filter((m) => !out.has(m));
  if (missing.length) {
    for (const fd of out.values()) fd.close();
    throw new BtfError(`no kernel BTF object for module${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (unloaded since its BTF was read?)`);
  }
  return out;
}
