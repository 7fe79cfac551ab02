// Minimal "newc" (SVR4, no CRC) cpio archive writer: what the kernel accepts
// as an initramfs. Regular files, directories and symlinks; owner root.

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function record(ino: number, mode: number, nlink: number, name: string, data: Buffer): Buffer[] {
  const nameBuf = Buffer.from(name + '\0');
  const header =
    '070701' +
    hex8(ino) +
    hex8(mode) +
    hex8(0) + // uid
    hex8(0) + // gid
    hex8(nlink) +
    hex8(0) + // mtime: fixed, so the archive is reproducible
    hex8(data.length) +
    hex8(0) + hex8(0) + // dev major/minor
    hex8(0) + hex8(0) + // rdev major/minor
    hex8(nameBuf.length) +
    hex8(0); // check
  const h = Buffer.from(header, 'latin1');
  return [h, nameBuf, Buffer.alloc(pad4(h.length + nameBuf.length)), data, Buffer.alloc(pad4(data.length))];
}

export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir':
        parts.push(...record(ino++, S_IFDIR | (e.mode ?? 0o755), 2, name, Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(...record(ino++, S_IFREG | (e.mode ?? 0o644), 1, name, Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data)));
        break;
      case 'symlink':
        parts.push(...record(ino++, S_IFLNK | 0o777, 1, name, Buffer.from(e.target)));
        break;
    }
  }
  parts.push(...record(0, 0, 1, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
