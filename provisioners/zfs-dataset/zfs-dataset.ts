// A ZFS dataset on a node, converged over SSH: the first user of the provisioning engine. Its shell is in the .sh
// files beside this one, fed the dataset's name and properties through the script's env.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
// Engine modules imported one by one, not through engine/index.ts: the provider is closure-serialized, and a
// re-exporting barrel drags whole module objects (with symbol keys the serializer cannot rebuild) along.
import {
  type Connection,
  type Credentials,
  addressOf,
  connectionChanged,
  joinCredentials,
  splitCredentials,
} from "../engine/connection";
import { type LogTarget, type RunLog, openRunLog } from "../engine/log";
import { runScript } from "../engine/run-script";
import { type ConnectionInput, type PublicConnection, secretCredentials } from "../engine/script-provider";
import { pinChanged, splitHostKey } from "../engine/connection-input";
import { type Session, withSession } from "../engine/ssh";
import { plainState } from "../engine/state";
import {
  type PropertyDiff,
  type PropertyValue,
  adoptionDiff,
  diffProperties,
  hasPropertyChanges,
  normalizeValue,
} from "./zfs-properties";
import { DATASET_NAME as DATASET_GRAMMAR, PROPERTY_NAME as PROPERTY_GRAMMAR } from "../../definition/grammar";

export {
  type PropertyDiff,
  type PropertyValue,
  adoptionDiff,
  diffProperties,
  hasPropertyChanges,
  normalizeValue,
  parseSize,
} from "./zfs-properties";

export interface ZfsDatasetInputs {
  connection: Connection;
  /** pool/path, e.g. tank/models. */
  name: string;
  properties?: Record<string, PropertyValue>;
  /** Deletion is refused unless this is false. Default true. */
  protect?: boolean;
  /** The node's pinned key (its HostKeyPin). */
  hostKey?: string;
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
  /**
   * This resource's claim on the dataset, also set on it as the ZFS user property phoenix:owner at create (a create
   * that adopts an existing dataset claims it too). A delete destroys only a dataset whose claim is still its own.
   * Absent in states written before claims existed.
   */
  claim?: string;
  log?: LogTarget;
}

/** The ZFS user property holding the claim of the resource that manages the dataset. */
export const CLAIM_PROPERTY = "phoenix:owner";

// The definition's grammar (definition/grammar.ts), so what validates is what this provider accepts; bound to consts
// of this module because the provider is closure-serialized and captures them by value.
export const DATASET_NAME: RegExp = DATASET_GRAMMAR;
export const PROPERTY_NAME: RegExp = PROPERTY_GRAMMAR;

/** `zfs inherit` refuses these: removing one from the definition sets it back to this value instead. */
const RESET_VALUE: Record<string, string> = {
  quota: "none",
  refquota: "none",
  reservation: "none",
  refreservation: "none",
  canmount: "on",
};

export interface DatasetDiff extends pulumi.dynamic.DiffResult {
  properties: PropertyDiff;
}

/**
 * A new name → replace (another dataset). Everything else is an in-place update: properties, protect, and how the
 * node is reached (address, port, user, key): connection details are not the dataset's identity, and replacing a
 * dataset over a new address would adopt it, then destroy it.
 */
export function diffDataset(olds: ZfsDatasetOutputs, news: ZfsDatasetInputs): DatasetDiff {
  const replaces: string[] = [];
  if (olds.name !== news.name) replaces.push("name");
  const properties = diffProperties(olds.properties, news.properties);
  const changes =
    replaces.length > 0 ||
    hasPropertyChanges(properties) ||
    olds.protect !== (news.protect ?? true) ||
    connectionChanged(olds.connection, olds.credentials, news.connection) ||
    // The host key is the node's pin (pinChanged), not part of the connection compared here.
    pinChanged(olds.hostKey, news.hostKey);
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
  if (CLAIM_PROPERTY in props) throw new Error(`${CLAIM_PROPERTY} is Phoenix's own property on ${name}: it cannot be declared`);
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

/** Creates the dataset with its properties, or sets them on one that already exists; either way it takes `claim`. */
export function createRun(name: string, props: Record<string, PropertyValue>, claim: string): ZfsRun {
  validate(name, props);
  checkClaim(claim);
  const entries = Object.keys(props)
    .sort()
    .map((k) => `${k}=${props[k]}\n`);
  return { script: CREATE_SCRIPT, env: { ZFS_DATASET: name, ZFS_PROPERTIES: entries.join(""), ZFS_CLAIM: claim } };
}

function checkClaim(claim: string): void {
  if (!/^[^\s]{1,1024}$/.test(claim)) throw new Error(`not a dataset claim: ${JSON.stringify(claim)}`);
}

/** A claim no other resource has: which resource, and a random part (a replacement of the same resource differs). */
export function newClaim(log: LogTarget | undefined, name: string): string {
  const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
  const who = log ? `${log.stack}/${log.resource}` : name;
  return `${who.replace(/\s+/g, "_")}@${new Date().toISOString()}#${randomBytes(6).toString("hex")}`;
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

/** How long one zfs operation may take on the node (the engine stops it then, saying what ran and for how long). */
export const ZFS_TIMEOUT = { seconds: 600 };

function runZfs(s: Session, run: ZfsRun, log: RunLog, title: string) {
  return runScript(s, run.script, { env: run.env, log, title, timeout: ZFS_TIMEOUT });
}

/** read.sh prints this when the dataset does not exist. */
export const ABSENT = "__PHX_ABSENT__";

/** Prints ABSENT when the dataset does not exist, else `zfs get -Hp` of the properties asked for. */
export function readRun(name: string, props: string[]): ZfsRun {
  validate(name, Object.fromEntries(props.map((p) => [p, ""])));
  return { script: READ_SCRIPT, env: { ZFS_DATASET: name, ZFS_GET_PROPERTIES: [...props].sort().join(",") } };
}

/** delete.sh prints these (and the other claim) instead of destroying: the dataset is kept. */
export const CLAIMED = "__PHX_CLAIMED__";
export const PROTECTED = "__PHX_PROTECTED__";

/**
 * Destroys the dataset unless another resource claims it now (a replacement that adopted it, another stack) or it
 * is protected; `claim` is the deleting resource's own ("" for a state from before claims: any claim is another's).
 */
export function destroyRun(name: string, claim: string, protect: boolean): ZfsRun {
  validate(name, {});
  if (claim !== "") checkClaim(claim);
  return { script: DELETE_SCRIPT, env: { ZFS_DATASET: name, ZFS_CLAIM: claim, ZFS_PROTECT: protect ? "1" : "0" } };
}

/** What a delete run did, from its output. */
export function deleteOutcome(stdout: string): { kept: "claimed"; owner: string } | { kept: "protected" } | { kept: false } {
  const line = stdout.split("\n").find((l) => l.startsWith(CLAIMED) || l === PROTECTED);
  if (line === PROTECTED) return { kept: "protected" };
  if (line !== undefined) return { kept: "claimed", owner: line.slice(CLAIMED.length).trim() };
  return { kept: false };
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

/** Why a protected dataset was kept, and the ways out that keep its data; never "unprotect it". */
export function protectedMessage(name: string, address: string, resource?: string): string {
  return (
    `ZFS dataset ${name} on ${address} was kept: Pulumi asked to delete ${resource ? `resource ${resource}` : "its resource"} ` +
    `(pulumi destroy, or the dataset left the definition, or its name or node changed), and the dataset is protected ` +
    `(protect: true). Nothing was destroyed; its data is intact. To go on managing it, declare it again as it was ` +
    `(same name on the same node) and run pulumi up. To keep the data and stop managing it, drop the resource from ` +
    `the state only: pulumi state delete <its URN> (pulumi stack --show-urns lists it). Destroying it is a decision ` +
    `for the node, after a backup (zfs snapshot ${name}@keep; zfs send), not something Phoenix does on its own.`
  );
}

export const zfsDatasetProvider: pulumi.dynamic.ResourceProvider<ZfsDatasetInputs, ZfsDatasetOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (typeof news.name === "string" && !DATASET_NAME.test(news.name))
      failures.push({ property: "name", reason: `expected pool/path such as tank/models, got ${JSON.stringify(news.name)}` });
    const bad = Object.keys(news.properties ?? {}).filter((p) => !PROPERTY_NAME.test(p));
    if (bad.length > 0) failures.push({ property: "properties", reason: `not ZFS property names: ${bad.join(", ")}` });
    if (Object.hasOwn(news.properties ?? {}, CLAIM_PROPERTY))
      failures.push({
        property: "properties",
        reason: `${CLAIM_PROPERTY} is the claim Phoenix keeps on the dataset: remove it from the dataset's properties`,
      });
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const { changes, replaces, deleteBeforeReplace } = diffDataset(olds, news);
    return { changes, replaces, deleteBeforeReplace };
  },

  async create(inputs) {
    const props = stringProps(inputs.properties);
    const claim = newClaim(inputs.log, inputs.name);
    const hostKey = await withSession(
      { ...inputs.connection, hostKey: inputs.hostKey ?? inputs.connection.hostKey },
      async (s) => {
        const log = openRunLog(inputs.log);
        // A dataset that exists already (made by hand, by the original scripts) is adopted: only the properties
        // that differ are set, and nothing is ever destroyed.
        const read = readRun(inputs.name, Object.keys(props));
        const found = await runZfs(s, read, log, `look for ${inputs.name}`);
        if (found.stdout.trim() === ABSENT) {
          const run = createRun(inputs.name, props, claim);
          await runZfs(s, run, log, `create ${inputs.name}`);
          return s.hostKey.openssh;
        }
        const d = adoptionDiff(props, parseZfsGet(found.stdout));
        log.note(
          `${inputs.name} exists: adopted; ${d.changed.length ? `setting ${d.changed.map((k) => `${k} to ${props[k]}`).join(", ")}` : "its properties are as declared"}`,
        );
        // The adopted dataset takes this resource's claim too, with only the properties that differ set.
        const differing = Object.fromEntries(d.changed.map((k) => [k, props[k]!]));
        const run = createRun(inputs.name, differing, claim);
        await runZfs(s, run, log, `adopt ${inputs.name}`);
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
        claim,
        log: inputs.log,
      }),
    };
  },

  async update(_id, olds, news) {
    const props = stringProps(news.properties);
    const d = diffProperties(olds.properties, props);
    const run = updateRun(news.name, d, props);
    // Without a run, the node's pin (when given) is recorded as this dataset's key.
    let hostKey = news.hostKey ?? olds.hostKey;
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
        { ...news.connection, hostKey: news.hostKey ?? news.connection.hostKey ?? olds.hostKey },
        async (s) => {
          await runZfs(s, run, log, `update ${news.name}`);
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
        ...(olds.claim !== undefined ? { claim: olds.claim } : {}),
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
        return runZfs(s, run, openRunLog(props.log), `read ${props.name}`);
      },
      { label: labelOf(props) },
    );
    if (r.stdout.trim() === ABSENT) return { id: "" };
    return { id, props: plainState({ ...props, properties: reconcile(declared, parseZfsGet(r.stdout)) }) };
  },

  async delete(_id, props) {
    const connection = {
      ...joinCredentials(props.connection, props.credentials),
      hostKey: props.connection.hostKey ?? props.hostKey,
    };
    const log = openRunLog(props.log);
    const r = await withSession(
      connection,
      (s) => {
        const run = destroyRun(props.name, props.claim ?? "", props.protect !== false);
        return runZfs(s, run, log, `destroy ${props.name}`);
      },
      { label: labelOf(props) },
    );
    const outcome = deleteOutcome(r.stdout);
    if (outcome.kept === "protected")
      throw new Error(protectedMessage(props.name, addressOf(props.connection), props.log?.resource));
    if (outcome.kept === "claimed")
      log.note(`${props.name} kept: it is claimed by ${outcome.owner}, not by this resource (${props.claim ?? "no claim"})`);
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
        // The node's pinned key when given; an output either way (the key this dataset connects with).
        hostKey: undefined,
        ...splitHostKey(args.connection),
        connection: secretCredentials(splitHostKey(args.connection).connection),
        name: args.name,
        properties: args.properties ?? {},
        protect: args.protect ?? true,
        log: { stack: pulumi.getStack(), resource: resourceName },
      },
      { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "credentials"] },
      "phoenix",
      "ZfsDataset",
    );
  }
}
