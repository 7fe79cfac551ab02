// XDP (SEC("xdp")): BPF_LINK_CREATE on the interface index with attach type
// BPF_XDP (Linux 5.9+). The XDP mode flags pick the driver hook.
import { linkCreate } from '../syscall/index.ts';
import { BpfAttachType } from '../prog/index.ts';
import { AttachError } from './errors.ts';
import { XdpLink, type AttachableProgram } from './link.ts';
import { ifindexOf } from './netdev.ts';
import { XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_UPDATE_IF_NOEXIST } from '../uapi/defines.ts';

/** XDP_FLAGS_* (include/uapi/linux/if_link.h, in src/uapi) */
export { XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_UPDATE_IF_NOEXIST };

export interface XdpOptions {
  /** 'generic' (skb mode), 'native' (driver mode), 'offload', or 'auto' (default: native when the driver has it). */
  mode?: 'auto' | 'generic' | 'native' | 'offload';
}

/** Attach an XDP program to interface `dev` (name or ifindex). */
export function attachXdp(prog: AttachableProgram, dev: string | number, opts: XdpOptions = {}): XdpLink {
  const target = `XDP on ${typeof dev === 'number' ? `ifindex ${dev}` : dev}`;
  const ifindex = ifindexOf(dev, prog.name, target);
  const flags = { auto: 0, generic: XDP_FLAGS_SKB_MODE, native: XDP_FLAGS_DRV_MODE, offload: XDP_FLAGS_HW_MODE }[opts.mode ?? 'auto'];
  try {
    const fd = linkCreate({ prog_fd: prog.fd, target_fd: ifindex, attach_type: BpfAttachType.BPF_XDP, flags }, `attaching program "${prog.name}" to ${target}`);
    return new XdpLink(prog.name, target, fd);
  } catch (e) {
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
}
