// Reads the original Phoenix JSON while recording which fields were used, so that every field the
// importer did not map ends up in a warning: nothing is dropped silently, and fields from older or
// newer versions of the files are reported instead of crashing the import.

export interface ImportWarning {
  /** Source file and field path, e.g. phoenix_lxc_configs.json: lxc_configs.901.firewall */
  where: string;
  message: string;
  fix?: string;
}

export class Warnings {
  readonly list: ImportWarning[] = [];
  add(where: string, message: string, fix?: string) {
    this.list.push({ where, message, ...(fix ? { fix } : {}) });
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export class Reader {
  private readonly used = new Set<string>();
  private readonly children: Reader[] = [];

  constructor(
    readonly file: string,
    readonly path: string,
    readonly value: Record<string, Json>,
    private readonly warnings: Warnings,
  ) {}

  static root(file: string, value: unknown, warnings: Warnings): Reader {
    if (!isObject(value)) throw new ImportError(`${file}: expected a JSON object at the top level`);
    return new Reader(file, "", value, warnings);
  }

  private at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }
  where(key?: string): string {
    return `${this.file}: ${key === undefined ? this.path || "(top level)" : this.at(key)}`;
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }
  /** Mark a field as handled without reading it (e.g. metadata). */
  skip(...keys: string[]) {
    keys.forEach((k) => this.used.add(k));
  }
  /** Mark a field as handled and say why it has no equivalent. */
  unmapped(key: string, why: string, fix?: string) {
    if (!this.has(key)) return;
    this.used.add(key);
    this.warnings.add(this.where(key), `not mapped: ${why}`, fix);
  }

  raw(key: string): Json | undefined {
    this.used.add(key);
    const v = this.value[key];
    return v === null ? undefined : v;
  }
  str(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    this.warnings.add(this.where(key), `expected a string, got ${kind(v)}; ignored`);
    return undefined;
  }
  num(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === "number") return v;
    if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
    this.warnings.add(this.where(key), `expected a number, got ${JSON.stringify(v)}; ignored`);
    return undefined;
  }
  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === "boolean") return v;
    if (v === 1 || v === "1" || v === "true" || v === "yes") return true;
    if (v === 0 || v === "0" || v === "false" || v === "no") return false;
    this.warnings.add(this.where(key), `expected true or false, got ${JSON.stringify(v)}; ignored`);
    return undefined;
  }
  strings(key: string): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (typeof v === "string") return [v];
    if (Array.isArray(v)) return v.flatMap((x) => (typeof x === "string" || typeof x === "number" ? [String(x)] : []));
    this.warnings.add(this.where(key), `expected a list of strings, got ${kind(v)}; ignored`);
    return [];
  }
  obj(key: string): Reader | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isObject(v)) {
      this.warnings.add(this.where(key), `expected an object, got ${kind(v)}; ignored`);
      return undefined;
    }
    const r = new Reader(this.file, this.at(key), v, this.warnings);
    this.children.push(r);
    return r;
  }
  objs(key: string): Reader[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.warnings.add(this.where(key), `expected a list, got ${kind(v)}; ignored`);
      return [];
    }
    return v.flatMap((x, i) => {
      if (!isObject(x)) {
        this.warnings.add(`${this.where(key)}[${i}]`, `expected an object, got ${kind(x)}; ignored`);
        return [];
      }
      const r = new Reader(this.file, `${this.at(key)}[${i}]`, x, this.warnings);
      this.children.push(r);
      return [r];
    });
  }
  /** The object's entries as readers (for maps keyed by id, e.g. lxc_configs). */
  entries(): [string, Reader][] {
    return Object.keys(this.value).flatMap((k) => {
      const r = this.obj(k);
      return r ? [[k, r] as [string, Reader]] : [];
    });
  }

  /** Report every field that nothing read, here and in every child reader. */
  reportUnused() {
    for (const k of Object.keys(this.value))
      if (!this.used.has(k))
        this.warnings.add(
          this.where(k),
          "not mapped: unknown field (from another version of the file?)",
          "map it by hand if it matters",
        );
    this.children.forEach((c) => c.reportUnused());
  }
}

export class ImportError extends Error {}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  return Array.isArray(v) ? "a list" : v === null ? "null" : typeof v;
}
