// One pinned host key per machine: a node's (from nodes[].ssh.hostKey, or recorded at first contact) or a VM's
// (recorded at its first contact), recorded once by this resource and given to every SSH connection to that machine
// as its `hostKey`. With knownHosts, the key also goes into the known_hosts file the Proxmox provider's SSH reads.
import * as pulumi from "@pulumi/pulumi";
import { type Connection, addressOf } from "./connection";
import { fingerprintOf, pinnedFingerprint } from "./host-key";
import { defaultKnownHostsFile, ensureKnownHost, knownHostsName } from "./known-hosts";
import { type ConnectionInput, type PublicConnection, secretCredentials } from "./connection-input";
import { withSession } from "./ssh";
import { plainState } from "./state";

export interface HostKeyPinInputs {
  /** How to reach the machine; its hostKey, when set, is the key it must present (the definition's). */
  connection: Connection;
  /** Also keep the key in the known_hosts file of the Proxmox provider ($HOME/.ssh/known_hosts). */
  knownHosts?: boolean;
  /** What the machine is, for messages. */
  label: string;
}

export interface HostKeyPinOutputs {
  /** Where the key was seen (no credentials). */
  address: Omit<PublicConnection, "hostKey">;
  /** The machine's key, OpenSSH "type base64" form. */
  hostKey: string;
  fingerprint: string;
  knownHosts?: boolean;
  /** The known_hosts file last written, for the record. */
  knownHostsFile?: string;
  label: string;
}

const addressOnly = (c: Connection) => ({ host: c.host, port: c.port ?? 22, user: c.user ?? "root" });

/** The key as seen: connect with the expected key (the definition's, or the one recorded), or record a first contact. */
async function observe(connection: Connection, expected: string | undefined, label: string): Promise<string> {
  return withSession({ ...connection, ...(expected ? { hostKey: expected } : {}) }, async (s) => s.hostKey.openssh, { label });
}

function writeKnownHosts(inputs: Pick<HostKeyPinInputs, "connection" | "knownHosts">, hostKey: string): string | undefined {
  if (!inputs.knownHosts) return undefined;
  const file = defaultKnownHostsFile();
  ensureKnownHost(file, knownHostsName(inputs.connection.host, inputs.connection.port ?? 22), hostKey);
  return file;
}

function outputs(inputs: HostKeyPinInputs, hostKey: string, knownHostsFile: string | undefined): HostKeyPinOutputs {
  const blob = Buffer.from(hostKey.split(" ")[1] ?? "", "base64");
  return plainState({
    address: addressOnly(inputs.connection),
    hostKey,
    fingerprint: fingerprintOf(blob),
    ...(inputs.knownHosts ? { knownHosts: true } : {}),
    ...(knownHostsFile ? { knownHostsFile } : {}),
    label: inputs.label,
  });
}

/** Whether the definition's key (when it gives one) is the recorded one. */
function samePin(declared: string | undefined, recorded: string): boolean {
  if (declared === undefined) return true;
  try {
    return pinnedFingerprint(declared) === pinnedFingerprint(recorded);
  } catch {
    return false;
  }
}

export const hostKeyPinProvider: pulumi.dynamic.ResourceProvider<HostKeyPinInputs, HostKeyPinOutputs> = {
  async check(_olds, news) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const declared = news.connection?.hostKey;
    if (typeof declared === "string")
      try {
        pinnedFingerprint(declared);
      } catch (e) {
        failures.push({ property: "connection", reason: (e as Error).message });
      }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    // Every preview and up: the Proxmox provider's known_hosts holds the pin on whichever machine runs pulumi.
    if (news.knownHosts && olds.hostKey) writeKnownHosts(news, olds.hostKey);
    const moved = JSON.stringify(olds.address) !== JSON.stringify(addressOnly(news.connection));
    const changes = moved || !samePin(news.connection.hostKey, olds.hostKey) || !!olds.knownHosts !== !!news.knownHosts;
    return { changes, replaces: [], deleteBeforeReplace: false };
  },

  async create(inputs) {
    const hostKey = await observe(inputs.connection, inputs.connection.hostKey, inputs.label);
    return {
      id: `${inputs.label}@${addressOf(inputs.connection)}`,
      outs: outputs(inputs, hostKey, writeKnownHosts(inputs, hostKey)),
    };
  },

  async update(_id, olds, news) {
    // A new address of the same machine must present the recorded key; a new key in the definition is checked too.
    const expected = news.connection.hostKey ?? olds.hostKey;
    const hostKey = await observe(news.connection, expected, news.label);
    return { outs: outputs(news, hostKey, writeKnownHosts(news, hostKey)) };
  },

  async read(id, props) {
    // The key was checked at its first contact and is checked by every connection since: refresh connects to nothing.
    return { id, props };
  },
};

export interface HostKeyPinArgs {
  connection: ConnectionInput;
  knownHosts?: boolean;
  label: string;
}

/** The pinned key of one machine (Pulumi type phoenix:HostKeyPin): `hostKey` goes into every connection to it. */
export class HostKeyPin extends pulumi.dynamic.Resource {
  declare readonly hostKey: pulumi.Output<string>;
  declare readonly fingerprint: pulumi.Output<string>;

  constructor(name: string, args: HostKeyPinArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      hostKeyPinProvider,
      name,
      {
        connection: secretCredentials(args.connection),
        knownHosts: args.knownHosts ?? false,
        label: args.label,
        hostKey: undefined,
        fingerprint: undefined,
      },
      opts,
      "phoenix",
      "HostKeyPin",
    );
  }
}
