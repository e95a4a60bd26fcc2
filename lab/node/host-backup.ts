// vzdump archives on the lab's real host, as Proxmox writes them: a tar (GNU tar, numeric owners, Proxmox's
// COMMON_TAR_FLAGS) holding ./etc/vzdump/pct.conf and pct.fw, then the root filesystem with its backed-up mount
// points mounted in place, piped through the compressor into <dump dir>/<name>.dat and renamed when complete; its
// side files (.log, .notes, .protected) beside it. Restores extract the same way into fresh volumes. Trees are
// mounted together in a mount namespace of their own (unshare -m, slave: the host's unmounts reach it, its mounts
// never leave it), so nothing shows on the host and nothing is left behind. A nesting container's /var/lib/docker, which the lab keeps on the host's disk (zfs-fuse has no Docker
// storage driver), goes into the archive at ./var/lib/docker, where Proxmox would find it in the rootfs: in snapshot mode
// the copy taken with the 'vzdump' snapshot (node/docker-snapshots.ts), so both are of one instant.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerArchive, VolumeInfo } from "../pve/backend";
import { parseArchiveName, sideFiles } from "../pve/backup";
import type { TaskLog } from "../pve/tasks";
import { parseVolid } from "../pve/volumes";
import { run, runAsync } from "../host/run";
import { containerIdMap } from "../pve/idmap";
import { parseConfigFile } from "../pve/pve-config";
import { writeOwnerMaps } from "./archive-ids";

/** pve-storage's COMMON_TAR_FLAGS: what vzdump and pct restore give tar. */
export const COMMON_TAR_FLAGS = [
  "--one-file-system",
  "-p",
  "--sparse",
  "--numeric-owner",
  "--acls",
  "--xattrs",
  "--xattrs-include=user.*",
  "--xattrs-include=security.capability",
];

const COMPRESSORS: Record<string, string> = {
  zstd: "zstd --rsyncable --threads=1",
  gzip: "gzip --rsyncable",
  lzo: "lzop",
  "1": "lzop",
};

/** tar's option that reads an archive compressed by the name's compressor. */
export function decompressOption(file: string): string[] {
  if (/\.zst$/.test(file)) return ["--zstd"];
  if (/\.(gz|tgz)$/.test(file)) return ["-z"];
  if (/\.lzo$/.test(file)) return ["--lzop"];
  if (/\.xz$/.test(file)) return ["-J"];
  if (/\.bz2$/.test(file)) return ["-j"];
  return [];
}

/** Bind-mounts each [source, target] in a private namespace, then runs the rest of the script there. */
const IN_PRIVATE_MOUNTS = `
set -euo pipefail
while [ "$1" != "--" ]; do
  mkdir -p "$2"
  mount --bind "$1" "$2"
  shift 2
done
shift
`;

/** Archive: tar | compressor > dat. tar's 1 ("file changed as we read it", a live tree) is a warning, as it is for vzdump. */
const ARCHIVE_SCRIPT = `${IN_PRIVATE_MOUNTS}
dat="$1"; compressor="$2"; shift 2
set +e
tar cpf - --totals "$@" | $compressor > "$dat"
codes=("\${PIPESTATUS[@]}")
set -e
if [ "\${codes[1]}" -ne 0 ]; then echo "$compressor failed: exit code \${codes[1]}" >&2; exit "\${codes[1]}"; fi
if [ "\${codes[0]}" -gt 1 ]; then echo "tar failed: exit code \${codes[0]}" >&2; exit "\${codes[0]}"; fi
`;

const EXTRACT_SCRIPT = `${IN_PRIVATE_MOUNTS}
tar -x -f "$@"
`;

/** zfs-fuse has no extended attributes or ACLs: tar's per-file complaints about them are said once. */
const NO_XATTR = /Cannot (f|l)?(listxattr|listxattrat|getxattr|acl_get_file|getfacl)\w*: Operation not supported/;

function logTarOutput(stderr: string, log: TaskLog): void {
  const lines = stderr.split("\n").filter(Boolean);
  const quiet = lines.filter((l) => !NO_XATTR.test(l));
  if (quiet.length < lines.length) log("tar: this filesystem keeps no extended attributes or ACLs (zfs-fuse): none archived");
  for (const line of quiet) log(line);
}

export interface ArchiveHost {
  /** The host directory of a container volume (its dataset's mountpoint, or a directory on a dir storage). */
  volumePath(volid: string): string;
  /** The directory that holds a storage's backups (<path>/dump), or undefined when it holds none. */
  dumpDir(storage: string): string | undefined;
  /** A readable copy of a volume as of `snapshot`, and how to drop it again. */
  snapshotView(volid: string, snapshot: string, log: TaskLog): Promise<{ path: string; release: () => Promise<void> }>;
  /** A nesting container's Docker directory on the host, when it has one; as of `snapshot` when a copy was taken then. */
  dockerDir(vmid: number, snapshot?: string): string | undefined;
}

/** Mount pairs that place each volume (and the Docker directory) at its path inside `root`. */
function mountPairs(root: string, trees: { path: string; source: string }[]): string[] {
  return trees.filter((t) => t.path !== "/").flatMap((t) => [t.source, join(root, t.path)]);
}

export async function writeArchive(host: ArchiveHost, req: ContainerArchive, log: TaskLog): Promise<{ size: number }> {
  const dir = host.dumpDir(req.storage);
  if (!dir) throw new Error(`can't use storage '${req.storage}' for backups - wrong content type`);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, req.filename);
  const dat = target.replace(/\.[^.]+$/, ".dat");
  const base = parseArchiveName(req.filename)?.logName ?? req.filename;
  const tmp = join(dir, `${base}.tmp`);
  const held: { release: () => Promise<void> }[] = [];
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(tmp, "etc", "vzdump"), { recursive: true });
    writeFileSync(join(tmp, "etc", "vzdump", "pct.conf"), req.config);
    writeFileSync(join(tmp, "etc", "vzdump", "pct.fw"), req.firewall);
    const trees: { path: string; source: string }[] = [];
    for (const v of req.volumes) {
      if (v.snapshot) {
        const view = await host.snapshotView(v.volid, v.snapshot, log);
        held.push(view);
        trees.push({ path: v.path, source: view.path });
      } else trees.push({ path: v.path, source: host.volumePath(v.volid) });
    }
    const snapshot = req.volumes.find((v) => v.path === "/")?.snapshot;
    const docker = host.dockerDir(req.vmid, snapshot);
    if (docker && existsSync(docker) && readdirSync(docker).length > 0) {
      log(
        `including the lab's Docker directory of the container at /var/lib/docker (${snapshot ? `as of snapshot '${snapshot}'` : "live"})`,
      );
      trees.push({ path: "/var/lib/docker", source: docker });
    }
    const root = trees.find((t) => t.path === "/")!.source;
    // An unprivileged container's archive holds container ids, as Proxmox's tar in its user namespace writes them.
    const idMap = containerIdMap(parseConfigFile(req.config));
    const ownerMaps = idMap ? writeOwnerMaps(idMap, [...new Set(trees.map((t) => t.source))], tmp) : [];
    if (idMap) log("owners written as the container sees them (its id map)");
    const tarArgs = [
      ...COMMON_TAR_FLAGS,
      ...ownerMaps,
      "--warning=no-file-ignored",
      `--directory=${tmp}`,
      "./etc/vzdump/pct.conf",
      "./etc/vzdump/pct.fw",
      `--directory=${root}`,
      "--anchored",
      ...req.excludes.map((e) => `--exclude=${e}`),
      ".",
      ...trees.filter((t) => t.path !== "/").map((t) => `.${t.path}`),
    ];
    const compressor = req.compress && req.compress !== "0" ? COMPRESSORS[req.compress]! : "cat";
    const r = await runAsync(
      "unshare",
      [
        "-m",
        "--propagation",
        "slave",
        "bash",
        "-c",
        ARCHIVE_SCRIPT,
        "archive",
        ...mountPairs(root, trees),
        "--",
        dat,
        compressor,
        ...tarArgs,
      ],
      { allowFail: true, timeoutMs: 6 * 3600_000 },
    );
    logTarOutput(r.stderr, log);
    if (r.code !== 0) {
      const lines = r.stderr.trim().split("\n");
      const reason =
        lines.find((l) => /No space left|Disk quota exceeded|Read-only file system/i.test(l))?.trim() ??
        lines.reverse().find((l) => /error|failed/i.test(l)) ??
        `exit code ${r.code}`;
      throw new Error(`command 'tar cpf - … | ${compressor} >${dat}' failed: ${reason}`);
    }
    renameSync(dat, target);
    return { size: statSync(target).size };
  } finally {
    rmSync(dat, { force: true });
    rmSync(tmp, { recursive: true, force: true });
    for (const h of held.reverse()) await h.release().catch(() => {});
  }
}

/** Backups in a dump directory, as a storage lists them (content backup). */
export function listBackups(storage: string, dir: string): VolumeInfo[] {
  if (!existsSync(dir)) return [];
  const out: VolumeInfo[] = [];
  for (const f of readdirSync(dir)) {
    const info = parseArchiveName(f);
    if (!info) continue;
    const side = sideFiles(f);
    const notesFile = join(dir, side.notes);
    out.push({
      volid: `${storage}:backup/${f}`,
      content: "backup",
      format: info.format,
      size: statSync(join(dir, f)).size,
      vmid: info.vmid,
      subtype: info.type,
      ctime: info.ctime,
      ...(existsSync(notesFile) ? { notes: readFileSync(notesFile, "utf8") } : {}),
      ...(existsSync(join(dir, side.protected)) ? { protected: true } : {}),
    });
  }
  return out;
}

export function backupFile(host: ArchiveHost, volid: string): string {
  const v = parseVolid(volid);
  const dir = v && host.dumpDir(v.storage);
  if (!v || !dir || !v.volname.startsWith("backup/")) throw new Error(`volume '${volid}' is not a backup`);
  return join(dir, v.volname.slice("backup/".length));
}

export function setAttributes(file: string, attrs: { notes?: string; protected?: boolean }): void {
  if (!existsSync(file)) throw new Error(`volume '${file}' does not exist`);
  const side = sideFiles(file.split("/").pop()!);
  const dir = file.slice(0, file.lastIndexOf("/"));
  if (attrs.notes !== undefined) {
    if (attrs.notes === "") rmSync(join(dir, side.notes), { force: true });
    else writeFileSync(join(dir, side.notes), attrs.notes);
  }
  if (attrs.protected === true) writeFileSync(join(dir, side.protected), "", { mode: 0o644 });
  if (attrs.protected === false) rmSync(join(dir, side.protected), { force: true });
}

/** Removes an archive with its .log and .notes; refuses a protected one, as Proxmox does. */
export function removeBackup(file: string, volname: string, storage: string): void {
  if (!existsSync(file)) throw new Error(`volume '${storage}:${volname}' does not exist`);
  const side = sideFiles(file.split("/").pop()!);
  const dir = file.slice(0, file.lastIndexOf("/"));
  if (existsSync(join(dir, side.protected))) throw new Error(`cannot remove protected volume '${volname}' on '${storage}'`);
  rmSync(file);
  rmSync(join(dir, side.log), { force: true });
  rmSync(join(dir, side.notes), { force: true });
}

export function readConfigFromArchive(file: string): string {
  const r = run("tar", [...decompressOption(file), "-xOf", file, "--occurrence=1", "./etc/vzdump/pct.conf"], {
    allowFail: true,
    timeoutMs: 30 * 60_000,
  });
  if (r.code !== 0 || r.stdout === "") throw new Error(`unable to read backed-up configuration from '${file}'`);
  return r.stdout;
}

/** Extracts an archive into a root directory with its mount points (and the lab's Docker directory) mounted in place. */
export async function extractArchive(
  file: string,
  root: string,
  mounts: { path: string; source: string }[],
  log: TaskLog,
): Promise<void> {
  log(`extracting archive '${file}'`);
  const args = [
    file,
    ...decompressOption(file),
    "--totals",
    ...COMMON_TAR_FLAGS,
    "--warning=no-file-ignored",
    "--warning=no-xattr-write",
    `--directory=${root}`,
    "--skip-old-files",
    "--anchored",
    "--exclude=./dev/*",
    "--exclude=./etc/vzdump",
  ];
  const r = await runAsync(
    "unshare",
    ["-m", "--propagation", "slave", "bash", "-c", EXTRACT_SCRIPT, "extract", ...mountPairs(root, mounts), "--", ...args],
    { allowFail: true, timeoutMs: 6 * 3600_000 },
  );
  logTarOutput(r.stderr, log);
  if (r.code !== 0) throw new Error(`command 'tar xpf ${file}' failed: exit code ${r.code}`);
}
