// How a node or guest is reached is not what a resource manages there: a new address, port, user or key is an
// in-place update for every SSH-driven resource (RemoteScript and its features, ZfsDataset), never a replacement
// (whose create would adopt what exists and whose old delete would then remove it).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Connection, connectionChanged, publicConnection, splitCredentials } from "../../provisioners/engine/connection";
import {
  type RemoteScriptInputs,
  type RemoteScriptOutputs,
  diffScript,
  makeScriptProvider,
  scriptHash,
} from "../../provisioners/engine/script-provider";
import { type ZfsDatasetOutputs, diffDataset, zfsDatasetProvider } from "../../provisioners/zfs-dataset/zfs-dataset";

const CONNECTION: Connection = { host: "10.0.0.2", port: 22, user: "root", privateKey: "KEY-1", hostKey: "ssh-ed25519 AAAA" };

/** Every way the same node can be reached differently. */
const REACH_CHANGES: [string, Partial<Connection>][] = [
  ["address", { host: "192.168.1.20" }],
  ["address as a name", { host: "pve.lan" }],
  ["port", { port: 2222 }],
  ["user", { user: "admin" }],
  ["private key", { privateKey: "KEY-2" }],
  ["password", { password: "pw" }],
  ["dial settings", { dialErrorLimit: 3, perDialTimeoutMs: 5000 }],
  ["keepalive settings", { keepaliveIntervalMs: 5000, keepaliveCountMax: 6 }],
];

// Two real ed25519 keys: a machine's pin is compared by fingerprint.
const KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnAxQKWnTj0PHJBc5D5ynHTrl7u1dDRT6Tgl9j7UyQ1";
const KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GNCG";

function scriptState(inputs: RemoteScriptInputs): RemoteScriptOutputs {
  const { connection, credentials } = splitCredentials(inputs.connection);
  return {
    connection,
    credentials,
    script: inputs.script!,
    params: inputs.params ?? {},
    secretNames: [],
    triggers: inputs.triggers ?? [],
    deleteScript: inputs.deleteScript,
    ...(inputs.inContainer !== undefined ? { inContainer: inputs.inContainer } : {}),
    hash: scriptHash(inputs, inputs.script!),
    hostKey: "ssh-ed25519 AAAA",
    inSync: true,
  };
}

const scriptInputs = (connection: Connection): RemoteScriptInputs => ({
  connection,
  script: "echo hi",
  params: { A: "1" },
  deleteScript: "echo bye",
  inContainer: 210,
  triggers: ["lxc", "pve", 210],
});

function datasetState(connection: Connection): ZfsDatasetOutputs {
  const { connection: pub, credentials } = splitCredentials(connection);
  return {
    connection: pub,
    credentials,
    hostKey: "ssh-ed25519 AAAA",
    name: "tank/models",
    properties: { quota: "1G" },
    protect: true,
    claim: "dev/models@2025-01-01T00:00:00.000Z#0123456789ab",
  };
}

describe("a new way to reach the same node", () => {
  it.each(REACH_CHANGES)("a changed %s updates a RemoteScript in place, never replaces it", async (_what, change) => {
    const olds = scriptState(scriptInputs(CONNECTION));
    const news = scriptInputs({ ...CONNECTION, ...change });
    expect(diffScript(olds, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await makeScriptProvider().diff!("id", olds, news)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(diffScript(olds, scriptInputs(CONNECTION))).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it.each(REACH_CHANGES)("a changed %s updates a ZfsDataset in place, never replaces it", async (_what, change) => {
    const olds = datasetState(CONNECTION);
    const news = { connection: { ...CONNECTION, ...change }, name: "tank/models", properties: { quota: "1G" }, protect: true };
    expect(diffDataset(olds, news)).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await zfsDatasetProvider.diff!("tank/models", olds, news)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("a re-pinned machine key (the resource's hostKey input) updates both kinds in place; the same key is no change", () => {
    const olds = { ...scriptState(scriptInputs(CONNECTION)), hostKey: KEY_A };
    expect(diffScript(olds, { ...scriptInputs(CONNECTION), hostKey: KEY_B })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(diffScript(olds, { ...scriptInputs(CONNECTION), hostKey: KEY_A }).changes).toBe(false);
    const ds = { ...datasetState(CONNECTION), hostKey: KEY_A };
    const news = { connection: CONNECTION, name: "tank/models", properties: { quota: "1G" }, protect: true };
    expect(diffDataset(ds, { ...news, hostKey: KEY_B })).toMatchObject({ changes: true, replaces: [] });
    expect(diffDataset(ds, { ...news, hostKey: KEY_A }).changes).toBe(false);
  });

  it("what a resource manages still replaces: another dataset name, another container, other triggers", () => {
    const ds = datasetState(CONNECTION);
    expect(diffDataset(ds, { connection: CONNECTION, name: "tank/other", properties: { quota: "1G" } }).replaces).toEqual([
      "name",
    ]);
    const olds = scriptState(scriptInputs(CONNECTION));
    expect(diffScript(olds, { ...scriptInputs({ ...CONNECTION, host: "10.9.9.9" }), inContainer: 211 }).replaces).toEqual([
      "inContainer",
    ]);
    expect(diffScript(olds, { ...scriptInputs(CONNECTION), triggers: ["lxc", "pve", 211] }).replaces).toEqual(["triggers"]);
  });

  it("an in-place update of the connection alone runs nothing and keeps the pinned key; the state has the new connection", async () => {
    const olds = scriptState(scriptInputs(CONNECTION));
    // Port 1 on a reserved address: a connection attempt would fail, so nothing may be dialled.
    const moved = { ...CONNECTION, host: "192.0.2.1", port: 1, privateKey: "KEY-2", hostKey: undefined, dialErrorLimit: 1 };
    const { outs } = await makeScriptProvider().update!("id", olds, scriptInputs(moved));
    expect(outs!.connection).toEqual(publicConnection(moved));
    expect(outs!.credentials).toEqual({ privateKey: "KEY-2" });
    expect(outs!.hostKey).toBe("ssh-ed25519 AAAA");
    expect(outs!.hash).toBe(olds.hash);

    const ds = datasetState(CONNECTION);
    const r = await zfsDatasetProvider.update!("tank/models", ds, {
      connection: moved,
      name: "tank/models",
      properties: { quota: "1G" },
      protect: true,
    });
    expect(r.outs!.connection).toEqual(publicConnection(moved));
    expect(r.outs!.credentials).toEqual({ privateKey: "KEY-2" });
    expect(r.outs!.claim).toBe(ds.claim);
    expect(r.outs!.hostKey).toBe("ssh-ed25519 AAAA");
  });

  it("connectionChanged: true exactly when a reach field or a credential differs (the host key is the pin's, compared apart)", () => {
    const arb = fc.record(
      {
        host: fc.constantFrom("10.0.0.2", "pve.lan"),
        port: fc.constantFrom(22, 2222),
        user: fc.constantFrom("root", "admin"),
        privateKey: fc.constantFrom("K1", "K2"),
        hostKey: fc.constantFrom("ssh-ed25519 AAAA", "ssh-ed25519 BBBB"),
      },
      { requiredKeys: ["host"] },
    );
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        const { connection, credentials } = splitCredentials(a);
        const same = (["host", "port", "user", "privateKey"] as const).every((k) => a[k] === b[k]);
        return connectionChanged(connection, credentials, b) === !same;
      }),
    );
  });
});
