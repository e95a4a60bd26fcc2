// The adoption record beside a definition (stacks/<env>.adopted.json): the guests `phoenix adopt` found running and
// took over as they are. The program reads it to import them and to keep what Proxmox cannot change in place.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { fromZodIssue } from "./load";
import { type Problem, error } from "./problems";

/** What a running guest is where Proxmox cannot change it in place (the provider would replace the guest). */
export const Observed = z
  .object({
    unprivileged: z.boolean().optional(),
    /** The storage its root disk lives on. */
    diskStorage: z.string().optional(),
    /** Its root disk's size in GiB. */
    diskSize: z.number().nonnegative().optional(),
    /** Its mount points, "<host path> -> <path in the guest>", sorted (the provider replaces a guest whose set changes). */
    mounts: z.array(z.string()).optional(),
  })
  .strict();

/** A provider property path Pulumi's ignoreChanges takes: disk.datastoreId, mountPoints[0].volume. */
export const PROPERTY_PATH = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*|\[\d+\])*$/;

export const AdoptedGuest = z
  .object({
    vmid: z.number().int().min(100),
    node: z.string(),
    type: z.enum(["lxc", "vm"]),
    kind: z.enum(["guest", "template"]),
    observed: Observed.default({}),
    /**
     * Provider property paths where the definition differs from the running guest in a way that would replace it
     * (unprivileged, disk.datastoreId, …): kept as the guest runs until it is rebuilt.
     */
    keep: z.array(z.string().regex(PROPERTY_PATH, "a property path such as disk.datastoreId")).default([]),
    /** Rebuild it from the definition at the next up (a replacement): `phoenix adopt --rebuild <guest>`. */
    rebuild: z.boolean().default(false),
  })
  .strict();

export const AdoptionRecord = z
  .object({
    comment: z.string().optional(),
    version: z.literal(1).default(1),
    /** By guest or golden template name. */
    guests: z.record(z.string(), AdoptedGuest).default({}),
    /** Cluster PCI mappings (by id) that existed before the stack and are imported rather than created. */
    pciMappings: z.array(z.string()).default([]),
  })
  .strict();

export type Observed = z.infer<typeof Observed>;
export type AdoptedGuest = z.infer<typeof AdoptedGuest>;
export type AdoptionRecord = z.infer<typeof AdoptionRecord>;

export const EMPTY_ADOPTION: AdoptionRecord = { version: 1, guests: {}, pciMappings: [] };

export function adoptionPath(definitionFile: string): string {
  return definitionFile.replace(/\.(ya?ml|json)$/i, "") + ".adopted.json";
}

export interface ReadAdoption {
  record: AdoptionRecord;
  /** Paths start with the file's name, e.g. dev.adopted.json:guests.portainer.vmid. */
  problems: Problem[];
}

/** The record beside a definition; an empty one when there is none. A record with errors reads as empty. */
export function readAdoption(definitionFile: string): ReadAdoption {
  const p = adoptionPath(definitionFile);
  if (!existsSync(p)) return { record: EMPTY_ADOPTION, problems: [] };
  const where = p.split("/").pop()!;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    return {
      record: EMPTY_ADOPTION,
      problems: [error(where, `not valid JSON: ${(e as Error).message}`, "run phoenix adopt again")],
    };
  }
  const parsed = AdoptionRecord.safeParse(raw);
  if (parsed.success) return { record: parsed.data, problems: [] };
  return {
    record: EMPTY_ADOPTION,
    problems: parsed.error.issues.flatMap((i) => fromZodIssue(i)).map((x) => ({ ...x, path: `${where}:${x.path}` })),
  };
}

/** The record as written: guests sorted by name, fields in a fixed order, so re-adopting rewrites nothing. */
export function adoptionText(record: AdoptionRecord): string {
  const guests = Object.fromEntries(
    Object.keys(record.guests)
      .sort()
      .map((name) => {
        const g = record.guests[name]!;
        const observed = Object.fromEntries(Object.entries(g.observed).sort(([a], [b]) => (a < b ? -1 : 1)));
        return [
          name,
          { vmid: g.vmid, node: g.node, type: g.type, kind: g.kind, observed, keep: [...g.keep].sort(), rebuild: g.rebuild },
        ];
      }),
  );
  const out = {
    comment:
      "Guests phoenix adopt took over as they ran. Keep this file with the definition: it keeps what Proxmox cannot change in place " +
      "(a create-time origin, the fields under keep) until a guest is rebuilt (phoenix adopt --rebuild <guest>).",
    version: 1,
    guests,
    pciMappings: [...record.pciMappings].sort(),
  };
  return JSON.stringify(out, null, 2) + "\n";
}

/** Writes only when the text changes; returns whether it wrote. */
export function writeAdoption(definitionFile: string, record: AdoptionRecord): boolean {
  const p = adoptionPath(definitionFile);
  const text = adoptionText(record);
  if (existsSync(p) && readFileSync(p, "utf8") === text) return false;
  writeFileSync(p, text);
  return true;
}
