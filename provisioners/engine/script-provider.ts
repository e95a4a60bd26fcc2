import * as pulumi from "@pulumi/pulumi";
import { type Connection, type Credentials, addressOf, connectionChanged, joinCredentials, splitCredentials } from "./connection";
import { type ConnectionInput, type PublicConnection, pinChanged, secretCredentials, splitHostKey } from "./connection-input";
import { canonicalJson } from "../../definition/hash";
import { type LogTarget, openRunLog } from "./log";
import { type ScriptTimeout, runScript } from "./run-script";
import { type Session, withSession } from "./ssh";
import { plainState } from "./state";
import { isShellName } from "./shell";
import { contentChanged, hasLegacySecretHash, hashOutputs } from "./script-hash";
import { containerState } from "./container-state";
import { checkFirst } from "./check-first";

export { scriptHash, secretsHash } from "./script-hash";

// Everything the provider's functions reference is serialized into the state by Pulumi's closure serializer:
// no top-level imports of packages or builtins here or in the modules it uses (require() them inside functions),
// no module-level Maps/Sets or other non-serializable values.

export { type ConnectionInput, type PublicConnection, secretCredentials } from "./connection-input";

/** Scripts fixed by a provider built on the factory; inputs may still override them. */
export interface ScriptSpec {
  script?: string;
  checkScript?: string;
  deleteScript?: string;
}

export interface RemoteScriptInputs {
  connection: Connection;
  /** An idempotent bash script. Required unless the provider's spec has one. */
  script?: string;
  /** Exported to the scripts as environment variables; part of the content hash. */
  params?: Record<string, string>;
  /** Shell variables of the main script, sent over stdin, masked in logs, never in outputs. */
  secrets?: Record<string, string>;
  /** Any change replaces the resource (delete script, then the script on a fresh resource). */
  triggers?: unknown[];
  /** Prints the observed state; exit 0 when converged. Run after create/update and on refresh. Gets params, not secrets. */
  checkScript?: string;
  /** Run on delete, with params. */
  deleteScript?: string;
  /** Run every script inside this LXC container of the connection's host (a Proxmox node) through `pct exec`. */
  inContainer?: number;
  /** Each script (main, check, delete) is stopped when it runs longer. Default: DEFAULT_SCRIPT_TIMEOUT. */
  timeout?: ScriptTimeout;
  /** The machine's pinned key (its HostKeyPin): every connection of this resource requires it. */
  hostKey?: string;
  /**
   * Create on a guest that ran before the stack (`phoenix adopt`): run the check first, and the script only when the
   * check does not report converged for these params (or cannot: no check script, or secrets it cannot see).
   */
  adopt?: boolean;
  log?: LogTarget;
}

/** The time limit of a script whose resource declares none (states written before limits existed included). */
export const DEFAULT_SCRIPT_TIMEOUT: ScriptTimeout = { seconds: 3600 };

export interface RemoteScriptOutputs {
  connection: PublicConnection;
  /** Registered as a secret output (additionalSecretOutputs): read and delete need it to connect. */
  credentials: Credentials;
  script: string;
  params: Record<string, string>;
  /** Names only: secret values are never stored. */
  secretNames: string[];
  triggers: unknown[];
  checkScript?: string;
  deleteScript?: string;
  inContainer?: number;
  timeout?: ScriptTimeout;
  log?: LogTarget;
  /** sha256 of the script and params (script-hash.ts): plaintext, so no secret value enters it. */
  hash: string;
  /** sha256 of the secret values: a secret output (encrypted in state), how a changed secret is noticed. */
  secretsHash?: string;
  /** How many times the secret values changed (plaintext): later steps (health checks) re-run when it grows. */
  secretsRevision?: number;
  /** The host's key seen at first contact (OpenSSH form); pinned for every later operation. */
  hostKey: string;
  /** The check script's stdout (secret values masked) when last run. */
  checkOutput?: string;
  checkExitCode?: number;
  /** False after a refresh found drift: the next update runs the script again. */
  inSync: boolean;
}

/**
 * What changing from olds to news means: a container or triggers change → replace; anything else (the hash, the
 * scripts, how the host is reached: address, port, user, key, pin) → in-place update. Connection details are not
 * identity: the same node or guest over a new address keeps what the script made there.
 */
export function diffScript(
  olds: RemoteScriptOutputs,
  news: RemoteScriptInputs,
  spec: ScriptSpec = {},
): pulumi.dynamic.DiffResult {
  const replaces: string[] = [];
  if ((olds.inContainer ?? null) !== (news.inContainer ?? null)) replaces.push("inContainer");
  if (canonicalJson(olds.triggers ?? []) !== canonicalJson(news.triggers ?? [])) replaces.push("triggers");
  const script = news.script ?? spec.script ?? "";
  const changed =
    contentChanged(olds, news, script) ||
    // A hash that still covers secret values is rewritten (nothing runs): it must not stay in the state.
    hasLegacySecretHash(olds) ||
    (olds.checkScript ?? "") !== (news.checkScript ?? spec.checkScript ?? "") ||
    (olds.deleteScript ?? "") !== (news.deleteScript ?? spec.deleteScript ?? "") ||
    connectionChanged(olds.connection, olds.credentials, news.connection) ||
    pinChanged(olds.hostKey, news.hostKey) ||
    // States from before time limits have none: the default applies to them until their next real change.
    (olds.timeout !== undefined && canonicalJson(olds.timeout) !== canonicalJson(news.timeout ?? null)) ||
    canonicalJson(olds.log ?? null) !== canonicalJson(news.log ?? null);
  // Same target, same script: the old resource's delete script must run before the new one's script, not after it.
  const deleteBeforeReplace = replaces.length > 0 && (olds.deleteScript ?? "") !== "";
  return { changes: replaces.length > 0 || changed, replaces, deleteBeforeReplace };
}

/** Same parameters and the same secrets (by name): only the script's text differs. */
function sameSettings(olds: RemoteScriptOutputs, news: RemoteScriptInputs): boolean {
  return (
    canonicalJson(olds.params ?? {}) === canonicalJson(news.params ?? {}) &&
    canonicalJson([...(olds.secretNames ?? [])].sort()) === canonicalJson(Object.keys(news.secrets ?? {}).sort())
  );
}

function labelOf(log: LogTarget | undefined, c: PublicConnection, inContainer?: number): string {
  return log?.resource ?? (inContainer !== undefined ? `CT ${inContainer} on ${c.host}` : c.host);
}

/** A Pulumi dynamic provider that converges a host by running an idempotent script over SSH. */
export function makeScriptProvider(
  spec: ScriptSpec = {},
): pulumi.dynamic.ResourceProvider<RemoteScriptInputs, RemoteScriptOutputs> {
  const scriptsOf = (i: RemoteScriptInputs) => ({
    script: i.script ?? spec.script ?? "",
    checkScript: i.checkScript ?? spec.checkScript,
    deleteScript: i.deleteScript ?? spec.deleteScript,
  });

  /** The state after a create or update: the inputs (credentials apart), hashes, the pinned host key and the check's result. */
  const stateOf = (
    s: Session,
    news: RemoteScriptInputs,
    check: { checkOutput: string; checkExitCode: number } | undefined,
    olds?: RemoteScriptOutputs,
  ): RemoteScriptOutputs => {
    const { script, checkScript, deleteScript } = scriptsOf(news);
    const { connection, credentials } = splitCredentials(news.connection);
    return plainState({
      connection,
      credentials,
      script,
      params: news.params ?? {},
      secretNames: Object.keys(news.secrets ?? {}).sort(),
      triggers: news.triggers ?? [],
      ...(checkScript !== undefined ? { checkScript } : {}),
      ...(deleteScript !== undefined ? { deleteScript } : {}),
      ...(news.inContainer !== undefined ? { inContainer: news.inContainer } : {}),
      ...(news.timeout !== undefined ? { timeout: news.timeout } : {}),
      ...(news.log ? { log: news.log } : {}),
      ...hashOutputs(news, script, olds),
      hostKey: s.hostKey.openssh,
      ...(check ?? {}),
      inSync: true,
    });
  };

  /** Run the script (when asked) and the check script; the new state. */
  const converge = async (
    s: Session,
    news: RemoteScriptInputs,
    runMain: boolean,
    title: string,
    olds?: RemoteScriptOutputs,
  ): Promise<RemoteScriptOutputs> => {
    const { script, checkScript } = scriptsOf(news);
    const hash = hashOutputs(news, script, olds).hash;
    const secrets = news.secrets ?? {};
    const log = openRunLog(news.log, Object.values(secrets));
    const inContainer = news.inContainer;
    const timeout = news.timeout ?? DEFAULT_SCRIPT_TIMEOUT;
    if (runMain)
      await runScript(s, script, {
        env: news.params ?? {},
        secretsEnv: secrets,
        log,
        title: `${title} (hash ${hash.slice(0, 12)})`,
        inContainer,
        timeout,
      });
    let check: { checkOutput: string; checkExitCode: number } | undefined;
    if (checkScript) {
      const r = await runScript(s, checkScript, {
        env: news.params ?? {},
        log,
        title: "check",
        allowFailure: true,
        inContainer,
        timeout,
      });
      if (r.code !== 0)
        throw new Error(
          `${labelOf(news.log, news.connection, inContainer)}: the check script still fails (exit ${r.code}) after the script ran on ${s.address}` +
            `${r.stdout || r.stderr ? `:\n${(r.stdout + r.stderr).trim().split("\n").slice(-20).join("\n")}` : ""}` +
            `${log.path ? `\nfull log: ${log.path}` : ""}`,
        );
      check = { checkOutput: r.stdout, checkExitCode: r.code };
    }
    return stateOf(s, news, check, olds);
  };

  return {
    async check(_olds, news) {
      const failures: pulumi.dynamic.CheckFailure[] = [];
      const { script } = scriptsOf(news);
      if (typeof news.script !== "string" && !spec.script) failures.push({ property: "script", reason: "a script is required" });
      else if (typeof script === "string" && script.includes("\0"))
        failures.push({ property: "script", reason: "the script cannot contain NUL bytes" });
      if (!news.connection || (typeof news.connection.host === "string" && news.connection.host === ""))
        failures.push({ property: "connection", reason: "connection.host is required" });
      if (news.timeout !== undefined && (!Number.isInteger(news.timeout?.seconds) || news.timeout.seconds < 1))
        failures.push({ property: "timeout", reason: `not a time limit in whole seconds: ${JSON.stringify(news.timeout)}` });
      if (news.inContainer !== undefined && (!Number.isInteger(news.inContainer) || news.inContainer < 100))
        failures.push({ property: "inContainer", reason: `not a container id: ${JSON.stringify(news.inContainer)}` });
      for (const [prop, names] of [
        ["params", Object.keys(news.params ?? {})],
        ["secrets", Object.keys(news.secrets ?? {})],
      ] as const) {
        const bad = names.filter((n) => !isShellName(n) || n.startsWith("__phx"));
        if (bad.length > 0) failures.push({ property: prop, reason: `not usable as shell variable names: ${bad.join(", ")}` });
      }
      return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
      return diffScript(olds, news, spec);
    },

    async create(inputs) {
      const label = labelOf(inputs.log, inputs.connection, inputs.inContainer);
      const connection = { ...inputs.connection, hostKey: inputs.hostKey ?? inputs.connection.hostKey };
      const timeout = inputs.timeout ?? DEFAULT_SCRIPT_TIMEOUT;
      const outs = await withSession(
        connection,
        async (s) =>
          (inputs.adopt
            ? await checkFirst(s, { ...inputs, timeout }, scriptsOf(inputs), (c) => stateOf(s, inputs, c))
            : undefined) ?? converge(s, inputs, true, "create"),
        { label },
      );
      const where = `${addressOf(inputs.connection)}${inputs.inContainer !== undefined ? `/ct${inputs.inContainer}` : ""}`;
      return { id: `${label}@${where}`, outs };
    },

    async update(_id, olds, news) {
      const { script, checkScript } = scriptsOf(news);
      const runMain = contentChanged(olds, news, script);
      const pinned = news.hostKey ?? news.connection.hostKey ?? olds.hostKey;
      // The state with the new inputs' hashes, for an update that runs nothing (no secretsHash left from before).
      const restated = () => {
        const { connection, credentials } = splitCredentials(news.connection);
        const { secretsHash: _before, timeout: _limit, ...kept } = olds;
        return {
          ...kept,
          ...hashOutputs(news, script, olds),
          ...(news.timeout !== undefined ? { timeout: news.timeout } : {}),
          hostKey: pinned,
          script,
          connection,
          credentials,
          checkScript,
          log: news.log,
        };
      };
      if (!runMain && (checkScript ?? "") === (olds.checkScript ?? ""))
        return { outs: plainState({ ...restated(), deleteScript: scriptsOf(news).deleteScript }) };
      const label = labelOf(news.log, news.connection, news.inContainer);
      const outs = await withSession(
        { ...news.connection, hostKey: pinned },
        async (s) => {
          const target = await containerState(s, news.inContainer);
          if (target === "template") {
            // Nothing drifts inside a frozen template. The same settings under a newer script (an upgraded
            // Phoenix) leave it as built; other settings cannot change in place.
            if (!contentChanged(olds, news, script) || sameSettings(olds, news)) return undefined;
            throw new Error(
              `${label}: CT ${news.inContainer} is a frozen template, so this feature cannot change in place; rebuild the template ` +
                "(pulumi up --replace <its container's URN>, and its linked clones with it)",
            );
          }
          if (target === "absent")
            throw new Error(`${label}: CT ${news.inContainer} does not exist on ${addressOf(news.connection)}`);
          return converge(s, news, runMain, "update", olds);
        },
        { label },
      );
      if (outs) return { outs };
      // A frozen template's step takes the newer script as its own, so the next diff finds nothing to do.
      return { outs: plainState({ ...restated(), deleteScript: scriptsOf(news).deleteScript, inSync: true }) };
    },

    async read(id, props) {
      if (!props) throw new Error(`cannot read ${id}: no state`);
      if (!props.checkScript) return { id, props };
      const connection = {
        ...joinCredentials(props.connection, props.credentials),
        hostKey: props.connection.hostKey ?? props.hostKey,
      };
      const r = await withSession(
        connection,
        async (s) => {
          // A frozen template's features were frozen with it; a container that is gone took them along.
          const target = await containerState(s, props.inContainer);
          if (target !== "live") return target;
          return runScript(s, props.checkScript!, {
            env: props.params ?? {},
            log: openRunLog(props.log),
            title: "check (refresh)",
            allowFailure: true,
            timeout: props.timeout ?? DEFAULT_SCRIPT_TIMEOUT,
            inContainer: props.inContainer,
          });
        },
        { label: labelOf(props.log, props.connection, props.inContainer) },
      );
      if (r === "template") return { id, props };
      // An empty id tells the engine the resource is gone: the next up runs the step again in the new container.
      if (r === "absent") return { id: "", props };
      const inSync = r.code === 0 && (props.checkOutput === undefined || r.stdout === props.checkOutput);
      return { id, props: plainState({ ...props, checkOutput: r.stdout, checkExitCode: r.code, inSync }) };
    },

    async delete(_id, props) {
      if (!props.deleteScript) return;
      const connection = {
        ...joinCredentials(props.connection, props.credentials),
        hostKey: props.connection.hostKey ?? props.hostKey,
      };
      await withSession(
        connection,
        async (s) => {
          if ((await containerState(s, props.inContainer)) !== "live") return;
          await runScript(s, props.deleteScript!, {
            env: props.params ?? {},
            log: openRunLog(props.log),
            title: "delete",
            timeout: props.timeout ?? DEFAULT_SCRIPT_TIMEOUT,
            inContainer: props.inContainer,
          });
        },
        { label: labelOf(props.log, props.connection, props.inContainer) },
      );
    },
  };
}

export interface RemoteScriptArgs {
  connection: ConnectionInput;
  script?: pulumi.Input<string>;
  params?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  secrets?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  triggers?: pulumi.Input<unknown[]>;
  checkScript?: pulumi.Input<string>;
  deleteScript?: pulumi.Input<string>;
  /** Run the scripts inside this LXC container of the connection's host, through `pct exec`; a change replaces. */
  inContainer?: pulumi.Input<number>;
  /** Time limit of each script; a change is an in-place update that runs nothing. */
  timeout?: pulumi.Input<ScriptTimeout>;
  /** Its guest was adopted: on create, check first and run the script only when needed (RemoteScriptInputs.adopt). */
  adopt?: pulumi.Input<boolean>;
}

const defaultScriptProvider = makeScriptProvider();

/** An idempotent script run over SSH; its output is logged to .pulumi-state/logs/<stack>/<name>.log. */
export class RemoteScript extends pulumi.dynamic.Resource {
  declare readonly hash: pulumi.Output<string>;
  declare readonly secretsRevision: pulumi.Output<number | undefined>;
  declare readonly hostKey: pulumi.Output<string>;
  declare readonly checkOutput: pulumi.Output<string | undefined>;
  declare readonly inSync: pulumi.Output<boolean>;

  constructor(
    name: string,
    args: RemoteScriptArgs,
    opts: pulumi.CustomResourceOptions = {},
    provider = defaultScriptProvider,
    type = "RemoteScript",
  ) {
    super(
      provider,
      name,
      {
        ...args,
        // The machine's pinned key when given; an output either way (the key this resource connects with).
        hostKey: undefined,
        ...splitHostKey(args.connection),
        connection: secretCredentials(splitHostKey(args.connection).connection),
        secrets: args.secrets === undefined ? undefined : pulumi.secret(args.secrets),
        log: { stack: pulumi.getStack(), resource: name },
        hash: undefined,
        secretsHash: undefined,
        secretsRevision: undefined,
        checkOutput: undefined,
        inSync: undefined,
      },
      // credentials: read and delete connect with them; secretsHash: a hash of secret values is as secret as they are.
      { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "credentials", "secretsHash"] },
      "phoenix",
      type,
    );
  }
}
