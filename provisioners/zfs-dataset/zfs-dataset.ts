// A ZFS dataset on a node, converged over SSH: the first user of the provisioning engine. Its shell is in the .sh
// files beside this one, fed the dataset's name and properties through the script's env.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
// Engine modules imported one by one, not through engine/index.ts: the provider is closure-serialized, and a
// re-exporting barrel drags whole module objects (with symbol keys the serializer cannot rebuild) along.
import { type Connection, type Credentials, addressOf, joinCredentials, splitCredentials } from "../engine/connection";
import { type LogTarget, openRunLog } from "../engine/log";
import { runScript } from "../engine/run-script";
import { type ConnectionInput, type PublicConnection, secretCredentials } from "../engine/script-provider";
import { withSession } from "../engine/ssh";
import { plainState } from "../engine/state";
import { DATASET_NAME as DATASET_GRAMMAR, PROPERTY_NAME as PROPERTY_GRAMMAR } from "../../definition/grammar";

export type PropertyValue = string | number;

export interface ZfsDatasetInputs {
  connection: Connection;
  /** pool/path, e.g. tank/models. */
  name: string;
  properties?: Record<string, PropertyValue>;
  /** Deletion is refused unless this is false. Default true. */
  protect?: boolean;
  log?: LogTarget;
}

export interface ZfsDatasetOutputs {
  connection: PublicConnection;
  /** Registered as a secret output: read and delete need it. */
  credentials: Credentials;
  hostKey: string;
  name: string;
  /** The declared properties; after a refresh, the value found on the host where it differs. */
  properties: Record<string, string>;
  protect: boolean;
  log?: LogTarget;
}

// The definition's grammar (definition/grammar.ts), so what validates is what this provider accepts; bound to consts
// of this module because the provider is closure-serialized and captures them by value.
export const DATASET_NAME: RegExp = DATASET_GRAMMAR;
export const PROPERTY_NAME: RegExp = PROPERTY_GRAMMAR;

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
/** `zfs inherit` refuses these: removing one from the definition sets it back to this value instead. */
const RESET_VALUE: Record<string, string> = {
  quota: "none",
  refquota: "none",
  reservation: "none",
  refreservation: "none",
  canmount: "on",
};

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

export interface DatasetDiff extends pulumi.dynamic.DiffResult {
  properties: PropertyDiff;
}

/** Name or host change → replace; property or protect change → in-place update. */
export function diffDataset(olds: ZfsDatasetOutputs, news: ZfsDatasetInputs): DatasetDiff {
  const replaces: string[] = [];
  if (olds.name !== news.name) replaces.push("name");
  if (olds.connection?.host !== news.connection?.host) replaces.push("connection");
  const properties = diffProperties(olds.properties, news.properties);
  const c = news.connection ?? ({} as Connection);
  const connectionChanged = ["port", "user", "hostKey", "dialErrorLimit", "perDialTimeoutMs"].some(
    (k) => (olds.connection as Record<string, unknown>)?.[k] !== (c as unknown as Record<string, unknown>)[k],
  );
  const changes =
    replaces.length > 0 || hasPropertyChanges(properties) || olds.protect !== (news.protect ?? true) || connectionChanged;
  return { changes, replaces, deleteBeforeReplace: false, properties };
}

/** `zfs get -Hp -o property,value,source` output → property → { value, source }. */
export function parseZfsGet(stdout: string): Record<string, { value: string; source: string }> {
  const out: Record<string, { value: string; source: string }> = {};
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const f = line.split("\t");
    if (f.length < 3) throw new Error(`unexpected zfs get line: ${JSON.stringify(line)}`);
    out[f[0]!] = { value: f.slice(1, -1).join("\t"), source: f[f.length - 1]! };
  }
  return out;
}

function validate(name: string, props: Record<string, PropertyValue>): void {
  if (!DATASET_NAME.test(name))
    throw new Error(`invalid ZFS dataset name ${JSON.stringify(name)}: expected pool/path, e.g. tank/models`);
  const bad = Object.keys(props).filter((p) => !PROPERTY_NAME.test(p));
  if (bad.length > 0) throw new Error(`invalid ZFS property name(s) for ${name}: ${bad.join(", ")}`);
  const nl = Object.keys(props).filter((p) => /[\n\0]/.test(String(props[p])));
  if (nl.length > 0) throw new Error(`ZFS property values cannot contain newlines: ${nl.join(", ")}`);
}

/** What one provider operation runs on the host: a script from this folder and the values it reads from its env. */
export interface ZfsRun {
  script: string;
  env: Record<string, string>;
}

// Read at module load: the provider is closure-serialized, and its functions capture these strings by value, so
// they never use the fs import themselves. zfs-lib.sh (is zfs there, does the dataset exist) goes before the
// scripts that need it.
const shFile = (file: string) => readFileSync(join(__dirname, file), "utf8");
const ZFS_LIB = shFile("zfs-lib.sh");
const CREATE_SCRIPT = `${ZFS_LIB}\n${shFile("create.sh")}`;
const UPDATE_SCRIPT = shFile("update.sh");
const READ_SCRIPT = `${ZFS_LIB}\n${shFile("read.sh")}`;
const DELETE_SCRIPT = `${ZFS_LIB}\n${shFile("delete.sh")}`;

/** Creates the dataset with its properties, or sets them on one that already exists. */
export function createRun(name: string, props: Record<string, PropertyValue>): ZfsRun {
  validate(name, props);
  const entries = Object.keys(props)
    .sort()
    .map((k) => `${k}=${props[k]}\n`);
  return { script: CREATE_SCRIPT, env: { ZFS_DATASET: name, ZFS_PROPERTIES: entries.join("") } };
}

/** `zfs set` for changed and added properties, `zfs inherit` (or `=none`) for removed ones; undefined when nothing changes. */
export function updateRun(name: string, diff: PropertyDiff, news: Record<string, PropertyValue>): ZfsRun | undefined {
  validate(name, news);
  const changes = [...diff.changed, ...diff.added].map((k) => `set ${k}=${news[k]}`);
  for (const k of diff.removed) {
    if (!PROPERTY_NAME.test(k)) throw new Error(`invalid ZFS property name ${k}`);
    const reset = RESET_VALUE[k] ?? (/quota@/.test(k) ? "none" : undefined);
    changes.push(reset !== undefined ? `set ${k}=${reset}` : `inherit ${k}`);
  }
  if (changes.length === 0) return undefined;
  return { script: UPDATE_SCRIPT, env: { ZFS_DATASET: name, ZFS_CHANGES: changes.map((c) => `${c}\n`).join("") } };
}

/** read.sh prints this when the dataset does not exist. */
export const ABSENT = "__PHX_ABSENT__";

/** Prints ABSENT when the dataset does not exist, else `zfs get -Hp` of the properties asked for. */
export function readRun(name: string, props: string[]): ZfsRun {
  validate(name, Object.fromEntries(props.map((p) => [p, ""])));
  return { script: READ_SCRIPT, env: { ZFS_DATASET: name, ZFS_GET_PROPERTIES: [...props].sort().join(",") } };
}

export function destroyRun(name: string): ZfsRun {
  validate(name, {});
  return { script: DELETE_SCRIPT, env: { ZFS_DATASET: name } };
}

/** The state after a read: declared values kept where the host agrees (in their parsed form), else what the host has. */
export function reconcile(
  declared: Record<string, string>,
  found: Record<string, { value: string; source: string }>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(declared)) {
    const actual = found[k];
    if (actual === undefined) out[k] = "-";
    else out[k] = normalizeValue(k, actual.value) === normalizeValue(k, v) ? v : actual.value;
  }
  return out;
}

function stringProps(props: Record<string, PropertyValue> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(props ?? {}).map(([k, v]) => [k, String(v)]));
}

function labelOf(i: { name: string; log?: LogTarget }): string {
  return i.log?.resource ?? `zfs dataset ${i.name}`;
}

export function protectedMessage(name: string, address: string): string {
  return (
    `refusing to destroy ZFS dataset ${name} on ${address}: it is protected. To allow it, set protect: false on the ` +
    `dataset in the definition and run pulumi up (an in-place change that touches nothing on the node); then ` +
    `remove the dataset or run pulumi destroy. Its data is destroyed with it.`
  );
}

export const zfsDatasetProvider: pulumi.dynamic.ResourceProvider<ZfsDatasetInputs, ZfsDatasetOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (typeof news.name === "string" && !DATASET_NAME.test(news.name))
      failures.push({ property: "name", reason: `expected pool/path such as tank/models, got ${JSON.stringify(news.name)}` });
    const bad = Object.keys(news.properties ?? {}).filter((p) => !PROPERTY_NAME.test(p));
    if (bad.length > 0) failures.push({ property: "properties", reason: `not ZFS property names: ${bad.join(", ")}` });
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const { changes, replaces, deleteBeforeReplace } = diffDataset(olds, news);
    return { changes, replaces, deleteBeforeReplace };
  },

  async create(inputs) {
    const props = stringProps(inputs.properties);
    const run = createRun(inputs.name, props);
    const hostKey = await withSession(
      inputs.connection,
      async (s) => {
        await runScript(s, run.script, { env: run.env, log: openRunLog(inputs.log), title: `create ${inputs.name}` });
        return s.hostKey.openssh;
      },
      { label: labelOf(inputs) },
    );
    const { connection, credentials } = splitCredentials(inputs.connection);
    return {
      id: inputs.name,
      outs: plainState({
        connection,
        credentials,
        hostKey,
        name: inputs.name,
        properties: props,
        protect: inputs.protect ?? true,
        log: inputs.log,
      }),
    };
  },

  async update(_id, olds, news) {
    const props = stringProps(news.properties);
    const d = diffProperties(olds.properties, props);
    const run = updateRun(news.name, d, props);
    let hostKey = olds.hostKey;
    if (run !== undefined) {
      const log = openRunLog(news.log);
      log.note(
        `${news.name}: ` +
          [
            ...d.changed.map((k) => `${k} ${olds.properties[k]} → ${props[k]}`),
            ...d.added.map((k) => `${k} = ${props[k]}`),
            ...d.removed.map((k) => `${k} reset`),
          ].join(", "),
      );
      hostKey = await withSession(
        { ...news.connection, hostKey: news.connection.hostKey ?? olds.hostKey },
        async (s) => {
          await runScript(s, run.script, { env: run.env, log, title: `update ${news.name}` });
          return s.hostKey.openssh;
        },
        { label: labelOf(news) },
      );
    }
    const { connection, credentials } = splitCredentials(news.connection);
    return {
      outs: plainState({
        connection,
        credentials,
        hostKey,
        name: news.name,
        properties: props,
        protect: news.protect ?? true,
        log: news.log,
      }),
    };
  },

  async read(id, props) {
    if (!props) throw new Error(`cannot read ZFS dataset ${id}: no state`);
    const declared = props.properties ?? {};
    const connection = {
      ...joinCredentials(props.connection, props.credentials),
      hostKey: props.connection.hostKey ?? props.hostKey,
    };
    const r = await withSession(
      connection,
      (s) => {
        const run = readRun(props.name, Object.keys(declared));
        return runScript(s, run.script, { env: run.env, log: openRunLog(props.log), title: `read ${props.name}` });
      },
      { label: labelOf(props) },
    );
    if (r.stdout.trim() === ABSENT) return { id: "" };
    return { id, props: plainState({ ...props, properties: reconcile(declared, parseZfsGet(r.stdout)) }) };
  },

  async delete(_id, props) {
    if (props.protect !== false) throw new Error(protectedMessage(props.name, addressOf(props.connection)));
    const connection = {
      ...joinCredentials(props.connection, props.credentials),
      hostKey: props.connection.hostKey ?? props.hostKey,
    };
    await withSession(
      connection,
      (s) => {
        const run = destroyRun(props.name);
        return runScript(s, run.script, { env: run.env, log: openRunLog(props.log), title: `destroy ${props.name}` });
      },
      { label: labelOf(props) },
    );
  },
};

export interface ZfsDatasetArgs {
  connection: ConnectionInput;
  name: pulumi.Input<string>;
  properties?: pulumi.Input<Record<string, pulumi.Input<PropertyValue>>>;
  protect?: pulumi.Input<boolean>;
}

/** A ZFS dataset on a Proxmox node; `pulumi refresh` reports property drift. */
/** The dataset as a resource of the engine (Pulumi type phoenix:ZfsDataset); components/zfs-dataset.ts wraps it. */
export class ZfsDatasetResource extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly properties: pulumi.Output<Record<string, string>>;
  declare readonly protect: pulumi.Output<boolean>;
  declare readonly hostKey: pulumi.Output<string>;

  constructor(resourceName: string, args: ZfsDatasetArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      zfsDatasetProvider,
      resourceName,
      {
        connection: secretCredentials(args.connection),
        name: args.name,
        properties: args.properties ?? {},
        protect: args.protect ?? true,
        log: { stack: pulumi.getStack(), resource: resourceName },
        hostKey: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "credentials"] },
      "phoenix",
      "ZfsDataset",
    );
  }
}
