// Extract the uncompressed vmlinux (an ELF file) from an x86 bzImage.
//
// The boot protocol (Documentation/arch/x86/boot.rst) places the compressed
// kernel at (setup_sects + 1) * 512 + payload_offset, payload_length bytes
// long (protocol >= 2.08). We decompress it with node's zlib (gzip) or the
// system's xz / zstd / lz4 tools. When the header looks wrong we fall back to
// scanning for a compression magic and keep the first candidate that
// decompresses into an ELF image.
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';

type Codec = 'gzip' | 'xz' | 'zstd' | 'lz4' | 'lzma' | 'bzip2' | 'lzo';

const MAGICS: { codec: Codec; magic: number[] }[] = [
  { codec: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { codec: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { codec: 'gzip', magic: [0x1f, 0x8b, 0x08] },
  { codec: 'lz4', magic: [0x02, 0x21, 0x4c, 0x18] }, // legacy lz4 frame, what the kernel uses
  { codec: 'bzip2', magic: [0x42, 0x5a, 0x68] },
  { codec: 'lzma', magic: [0x5d, 0x00, 0x00] },
  { codec: 'lzo', magic: [0x89, 0x4c, 0x5a, 0x4f] },
];

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export class BzImageError extends Error {
  override name = 'BzImageError';
}

function detect(buf: Buffer): Codec | undefined {
  for (const { codec, magic } of MAGICS) {
    if (magic.every((b, i) => buf[i] === b)) return codec;
  }
  return undefined;
}

function runTool(cmd: string, args: string[], input: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.error) throw new BzImageError(`${cmd}: ${r.error.message}`);
  // The payload may carry trailing bytes (the kernel appends the size); the
  // tools then complain but still wrote the whole stream: accept any output
  // that is an ELF image.
  if (r.stdout.length > 0 && r.stdout.subarray(0, 4).equals(ELF_MAGIC)) return r.stdout;
  throw new BzImageError(`${cmd} ${args.join(' ')} failed (status ${r.status}): ${r.stderr.toString().trim()}`);
}

function decompress(codec: Codec, data: Buffer): Buffer {
  switch (codec) {
    case 'gzip':
      return gunzipSync(data);
    case 'xz':
      return runTool('xz', ['-dc', '--single-stream'], data);
    case 'zstd':
      return runTool('zstd', ['-dcq'], data);
    case 'lz4':
      return runTool('lz4', ['-dc'], data);
    case 'lzma':
      return runTool('xz', ['-dc', '--format=lzma'], data);
    case 'bzip2':
      return runTool('bzip2', ['-dc'], data);
    case 'lzo':
      return runTool('lzop', ['-dc'], data);
  }
}

/** Returns the vmlinux ELF image contained in a bzImage. */
export function extractVmlinux(bz: Buffer): { vmlinux: Buffer; codec: Codec } {
  const errors: string[] = [];
  if (bz.length > 0x250 && bz.toString('latin1', 0x202, 0x206) === 'HdrS') {
    const version = bz.readUInt16LE(0x206);
    let setupSects = bz[0x1f1]!;
    if (setupSects === 0) setupSects = 4;
    if (version >= 0x208) {
      const start = (setupSects + 1) * 512 + bz.readUInt32LE(0x248);
      const len = bz.readUInt32LE(0x24c);
      const payload = bz.subarray(start, start + len);
      const codec = detect(payload);
      if (codec) {
        try {
          return { vmlinux: decompress(codec, payload), codec };
        } catch (e) {
          errors.push(`header payload (${codec}): ${(e as Error).message}`);
        }
      } else {
        errors.push(`header payload at ${start} has no known compression magic`);
      }
    }
  }
  // Fallback: scan for magics.
  for (const { codec, magic } of MAGICS) {
    const needle = Buffer.from(magic);
    for (let at = bz.indexOf(needle); at >= 0; at = bz.indexOf(needle, at + 1)) {
      try {
        return { vmlinux: decompress(codec, bz.subarray(at)), codec };
      } catch (e) {
        errors.push(`${codec} at ${at}: ${(e as Error).message}`);
        if (errors.length > 20) break;
      }
    }
  }
  throw new BzImageError(`no decompressible vmlinux payload found:\n  ${errors.join('\n  ')}`);
}
