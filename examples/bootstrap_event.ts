// The record bpf/bootstrap.bpf.c sends through its ring buffer (struct event
// of bpf/bootstrap.h), decoded in place from the ring's memory.

/** struct event of bpf/bootstrap.h (offsets documented there). */
export interface ExecExitEvent {
  pid: number;
  ppid: number;
  exitCode: number;
  durationNs: bigint;
  comm: string;
  filename: string;
  exitEvent: boolean;
}

function cstr(view: DataView, off: number, len: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + off, len);
  const nul = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, nul < 0 ? len : nul)).toString('utf8');
}

export function decodeEvent(view: DataView, off: number): ExecExitEvent {
  return {
    pid: view.getInt32(off, true),
    ppid: view.getInt32(off + 4, true),
    exitCode: view.getUint32(off + 8, true),
    durationNs: view.getBigUint64(off + 16, true),
    comm: cstr(view, off + 40, 16),
    filename: cstr(view, off + 56, 127),
    exitEvent: view.getUint8(off + 183) !== 0,
  };
}

