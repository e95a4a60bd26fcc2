// A minimal ustar writer for image layers: directories, files and symlinks, owned by root, with a fixed
// mtime so the same content always gives the same bytes (and so the same layer digest).
export type TarEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; mode?: number; content: Buffer | string }
  | { type: "symlink"; path: string; target: string };

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(path: string, mode: number, size: number, typeflag: string, linkname = ""): Buffer {
  if (Buffer.byteLength(path) > 100 || Buffer.byteLength(linkname) > 100)
    throw new Error(`tar: name too long for ustar: ${path}`);
  const h = Buffer.alloc(BLOCK);
  h.write(path, 0, "utf8");
  h.write(octal(mode, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(0, 12), 136, "ascii"); // mtime
  h.write(typeflag, 156, "ascii");
  h.write(linkname, 157, "utf8");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write("root", 265, "ascii");
  h.write("root", 297, "ascii");
  // The checksum is computed with its own field read as eight spaces.
  h.fill(" ", 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  return h;
}

export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.type === "dir") parts.push(header(e.path.endsWith("/") ? e.path : `${e.path}/`, e.mode ?? 0o755, 0, "5"));
    else if (e.type === "symlink") parts.push(header(e.path, 0o777, 0, "2", e.target));
    else {
      const body = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content, "utf8");
      parts.push(header(e.path, e.mode ?? 0o644, body.length, "0"), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
