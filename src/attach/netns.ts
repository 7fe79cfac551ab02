// Network-namespace programs: sk_lookup (SEC("sk_lookup")) and the flow
// dissector (SEC("flow_dissector")), attached with BPF_LINK_CREATE on a
// netns fd (Linux 5.8+/5.9+). The namespace defaults to our own.
import { constants, openSync } from 'node:fs';
import { FD, linkCreate } from '../syscall/index.ts';
import { BpfAttachType } from '../prog/index.ts';
import { AttachError } from './errors.ts';
import { NetnsLink, type AttachableProgram } from './link.ts';

/** Attach an sk_lookup or flow_dissector program to the network namespace at `netnsPath`. */
export function attachNetns(
  prog: AttachableProgram,
  attachType: BpfAttachType.BPF_SK_LOOKUP | BpfAttachType.BPF_FLOW_DISSECTOR,
  netnsPath = '/proc/self/ns/net',
): NetnsLink {
  const target = `${attachType === BpfAttachType.BPF_SK_LOOKUP ? 'sk_lookup' : 'flow_dissector'} in netns ${netnsPath}`;
  let ns: FD;
  try {
    ns = new FD(openSync(netnsPath, constants.O_RDONLY), `netns ${netnsPath}`);
  } catch (e) {
    throw new AttachError(prog.name, target, `cannot open network namespace ${netnsPath}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const fd = linkCreate({ prog_fd: prog.fd, target_fd: ns.value, attach_type: attachType }, `attaching program "${prog.name}" to ${target}`);
    // the link holds the namespace; our fd is not needed past creation
    ns.close();
    return new NetnsLink(prog.name, target, fd);
  } catch (e) {
    ns.close();
    throw new AttachError(prog.name, target, (e as Error).message, { cause: e });
  }
}
