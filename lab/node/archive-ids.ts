// Owners in a vzdump archive of an unprivileged container, as Proxmox writes them: vzdump runs tar in the container's
// user namespace, so the archive holds container ids (a file of host uid 104242 is 4242; an id the map leaves out
// is nobody), and a restore shifts them back through the new container's map. The lab's tar runs as host root on
// zfs-fuse (which honours only host uid 0), so it translates with tar's owner and group maps instead, and a restore
// re-owns what it extracted.
import { lchownSync, lstatSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type IdMapEntry, hostId } from "../pve/idmap";
import { run } from "../host/run";

/** What an unmapped host id is inside the container (the kernel's overflow id). */
const NOBODY = 65534;

/** The container id of a host id under a map; NOBODY when the map leaves it out. */
export function containerId(map: readonly IdMapEntry[], type: "u" | "g", host: number): number {
  const e = map.find((x) => x.type === type && host >= x.host && host < x.host + x.count);
  return e ? e.ct + (host - e.host) : NOBODY;
}

/** tar --owner-map / --group-map lines (`+host +container`) for the ids found. Pure. */
export function ownerMapLines(map: readonly IdMapEntry[], type: "u" | "g", hostIds: Iterable<number>): string {
  return [...new Set(hostIds)]
    .sort((a, b) => a - b)
    .map((h) => `+${h} +${containerId(map, type, h)}\n`)
    .join("");
}

/**
 * Writes owner and group map files for the trees (every distinct uid and gid in them) into `dir`; the tar flags that
 * use them.
 */
export function writeOwnerMaps(map: readonly IdMapEntry[], sources: string[], dir: string): string[] {
  const uids = new Set<number>();
  const gids = new Set<number>();
  for (const src of sources) {
    const out = run("find", [src, "-xdev", "-printf", "%U %G\\n"], { allowFail: true, timeoutMs: 30 * 60_000 }).stdout;
    for (const line of out.split("\n")) {
      const [u, g] = line.split(" ");
      if (u && g) {
        uids.add(Number(u));
        gids.add(Number(g));
      }
    }
  }
  const owners = join(dir, "owner-map");
  const groups = join(dir, "group-map");
  writeFileSync(owners, ownerMapLines(map, "u", uids));
  writeFileSync(groups, ownerMapLines(map, "g", gids));
  return [`--owner-map=${owners}`, `--group-map=${groups}`];
}

/** Re-owns an extracted tree from container ids to host ids (ids the map leaves out are left as they are). */
export function shiftOwners(map: readonly IdMapEntry[], root: string): void {
  const walk = (path: string) => {
    const st = lstatSync(path);
    const uid = hostId(map, "u", st.uid) ?? st.uid;
    const gid = hostId(map, "g", st.gid) ?? st.gid;
    if (uid !== st.uid || gid !== st.gid) lchownSync(path, uid, gid);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
}
