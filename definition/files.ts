// The one resolver for files a definition references (custom scripts, AppArmor profiles, apps' files): a reference is
// a relative path inside the project directory — the definition's own directory — and resolves there, symlinks
// followed, or is refused. Validation, the components and the template builds all read through it.
import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { HAS_CONTROL } from "./grammar";

/** A referenced file larger than this is refused (scripts and profiles travel on stdin and are stored in state). */
export const MAX_REFERENCED_FILE_BYTES = 1024 * 1024;

export type FileRefResult = { ok: true; path: string } | { ok: false; message: string; fix: string };

const inside = (root: string, p: string) => {
  const rel = relative(root, p);
  return !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
};

/**
 * Where `ref` (as written in the definition) points, inside `projectDir`; or why it is refused. Refused: absolute
 * paths, paths that leave the directory (`..`, or a symlink to outside it), missing files, and anything but a
 * regular file.
 */
export function resolveProjectFile(projectDir: string, ref: string): FileRefResult {
  const relFix = "write a path relative to the definition's directory, to a file inside it (copy the file there)";
  if (ref.trim() === "") return { ok: false, message: "the path is empty", fix: relFix };
  if (HAS_CONTROL.test(ref)) return { ok: false, message: "the path contains control characters", fix: relFix };
  if (isAbsolute(ref) || /^~/.test(ref))
    return { ok: false, message: `${ref} is not relative to the definition's directory`, fix: relFix };
  const root = resolve(projectDir);
  const lexical = resolve(root, ref);
  if (!inside(root, lexical)) return { ok: false, message: `${ref} points outside the definition's directory`, fix: relFix };
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(lexical);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR"
      ? { ok: false, message: `${ref} does not exist (looked for ${lexical})`, fix: "create the file, or correct the path" }
      : { ok: false, message: `${ref} cannot be read: ${code ?? (e as Error).message}`, fix: "check the file's permissions" };
  }
  if (!inside(realRoot, real))
    return {
      ok: false,
      message: `${ref} resolves through a symlink to ${real}, outside the definition's directory`,
      fix: relFix,
    };
  return { ok: true, path: real };
}

/** Why a resolved file cannot be used as a referenced file, or undefined: not a regular file, too large, empty. */
function contentProblem(text: string | undefined, ref: string, size: number, isFile: boolean): string | undefined {
  if (!isFile) return `${ref} is not a regular file`;
  if (size > MAX_REFERENCED_FILE_BYTES)
    return `${ref} is ${size} bytes; a referenced file is at most ${MAX_REFERENCED_FILE_BYTES}`;
  if (text !== undefined && text.trim() === "") return `${ref} is empty`;
  return undefined;
}

/** A referenced file's text, or why it cannot be used (with the fix). */
export function readProjectFile(projectDir: string, ref: string): { ok: true; text: string; path: string } | FileRefError {
  const r = resolveProjectFile(projectDir, ref);
  if (!r.ok) return r;
  let fd: number | undefined;
  try {
    fd = openSync(r.path, "r");
    const st = fstatSync(fd);
    const early = contentProblem(undefined, ref, st.size, st.isFile());
    if (early) return { ok: false, message: early, fix: "reference a regular file of at most 1 MiB" };
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let k = -1; k !== 0 && n < buf.length; n += k) k = readSync(fd, buf, n, buf.length - n, null);
    const text = buf.subarray(0, n).toString("utf8");
    const late = contentProblem(text, ref, n, true);
    if (late) return { ok: false, message: late, fix: "write the file's content, or remove the reference" };
    return { ok: true, text, path: r.path };
  } catch (e) {
    return {
      ok: false,
      message: `${ref} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      fix: "check the file's permissions",
    };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

type FileRefError = { ok: false; message: string; fix: string };

/** For the components: the text, or an Error saying which field refers to what and how to fix it. */
export function requireProjectFile(projectDir: string, ref: string, field: string): string {
  const r = readProjectFile(projectDir, ref);
  if (!r.ok) throw new Error(`${field}: ${r.message}\n  fix: ${r.fix}`);
  return r.text;
}
