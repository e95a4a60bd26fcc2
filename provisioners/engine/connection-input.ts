// A connection as a resource argument, and how a connection's change reads in a diff: the credentials kept secret,
// the host key apart (a machine's pinned key, HostKeyPin), so a key not known yet hides nothing else in a preview.
import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "./connection";
import { pinnedFingerprint } from "./host-key";

export type PublicConnection = Omit<Connection, "privateKey" | "password">;

/** A Connection as a resource argument: any field may be an Output (a private key from secret config, say). */
export type ConnectionInput = pulumi.Input<{ [K in keyof Connection]: pulumi.Input<Connection[K]> }>;

/**
 * The connection with its private key and password marked secret (so they are encrypted in the inputs kept in
 * state), the rest left readable for previews.
 */
export function secretCredentials(connection: ConnectionInput): pulumi.Output<Connection> {
  return pulumi.output(connection).apply((c) => ({
    ...c,
    ...(c.privateKey !== undefined ? { privateKey: pulumi.secret(c.privateKey) } : {}),
    ...(c.password !== undefined ? { password: pulumi.secret(c.password) } : {}),
  })) as pulumi.Output<Connection>;
}

/**
 * The connection apart from its hostKey, which becomes the resource's own `hostKey` input: a pinned key not known yet
 * (its HostKeyPin is made in the same up) then leaves the rest of the connection readable in a preview.
 */
export function splitHostKey(connection: ConnectionInput): {
  connection: ConnectionInput;
  hostKey?: pulumi.Input<string | undefined>;
} {
  if (pulumi.Output.isInstance(connection)) {
    const c = connection as pulumi.Output<Connection>;
    return { connection: c.apply(({ hostKey: _k, ...rest }) => rest), hostKey: c.apply((x) => x.hostKey) };
  }
  const { hostKey, ...rest } = connection as { [K in keyof Connection]: pulumi.Input<Connection[K]> };
  return { connection: rest, ...(hostKey !== undefined ? { hostKey } : {}) };
}

/**
 * The machine's pinned key differs from the one this resource connects with (the machine was re-pinned). A key not
 * known yet (a preview while its pin is made) or not given is no change.
 */
export function pinChanged(recorded: string | undefined, pinned: string | undefined): boolean {
  if (recorded === undefined || pinned === undefined) return false;
  try {
    return pinnedFingerprint(recorded) !== pinnedFingerprint(pinned);
  } catch {
    // Not a key: Pulumi's placeholder for a value not known yet.
    return false;
  }
}
