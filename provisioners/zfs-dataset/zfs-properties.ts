// ZFS property values as the dataset provider compares them: sizes in bytes, declared against found, what changed.
// Pure; closure-serialized with the provider (no top-level imports of packages or builtins).
export type PropertyValue = string | number;

/** Properties whose values are sizes: compared in bytes, so 1G equals 1073741824 (what `zfs get -p` prints). */
const SIZE_PROPERTIES = [
  "quota",
  "refquota",
  "reservation",
  "refreservation",
  "volsize",
  "recordsize",
  "volblocksize",
  "special_small_blocks",
];
function isSizeProperty(prop: string): boolean {
  return SIZE_PROPERTIES.includes(prop) || /^(user|group|project)quota@/.test(prop);
}

/** Bytes in a ZFS size such as 1G, 128K, 1.5T, 512, 10GB, 2GiB (units are powers of 1024, as ZFS reads them). */
export function parseSize(value: string): bigint | undefined {
  const m = /^(\d+)(?:\.(\d+))?\s*([KMGTPEZ]?)(i?B)?$/i.exec(value.trim());
  if (!m) return undefined;
  const [, int, frac = "", unit = "", suffix] = m;
  if (suffix && !unit && suffix.toLowerCase() !== "b") return undefined;
  const mult = 1024n ** BigInt("BKMGTPEZ".indexOf(unit.toUpperCase() || "B"));
  const scale = 10n ** BigInt(frac.length);
  return (BigInt(int! + frac) * mult) / scale;
}

/** A property value in the form compared: sizes in bytes ("none" = 0), everything else as written. */
export function normalizeValue(prop: string, value: PropertyValue): string {
  const v = String(value).trim();
  if (isSizeProperty(prop)) {
    if (v === "none" || v === "-") return "0";
    const bytes = parseSize(v);
    return bytes === undefined ? v : bytes.toString();
  }
  if (prop === "mountpoint" && v.length > 1) return v.replace(/\/+$/, "");
  return v;
}

export interface PropertyDiff {
  /** Declared on both sides with different values. */
  changed: string[];
  added: string[];
  removed: string[];
}

export function diffProperties(olds: Record<string, PropertyValue> = {}, news: Record<string, PropertyValue> = {}): PropertyDiff {
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const k of Object.keys(news).sort()) {
    if (!(k in olds)) added.push(k);
    else if (normalizeValue(k, olds[k]!) !== normalizeValue(k, news[k]!)) changed.push(k);
  }
  for (const k of Object.keys(olds).sort()) if (!(k in news)) removed.push(k);
  return { changed, added, removed };
}

export function hasPropertyChanges(d: PropertyDiff): boolean {
  return d.changed.length + d.added.length + d.removed.length > 0;
}

/** An existing dataset's declared properties that differ from what it has: the only ones adopting it sets. */
export function adoptionDiff(
  declared: Record<string, string>,
  found: Record<string, { value: string; source: string }>,
): PropertyDiff {
  const changed = Object.keys(declared)
    .sort()
    .filter((k) => found[k] === undefined || normalizeValue(k, found[k]!.value) !== normalizeValue(k, declared[k]!));
  return { changed, added: [], removed: [] };
}
