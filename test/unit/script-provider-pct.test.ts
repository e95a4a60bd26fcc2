// The script provider's pct transport: every script of create, read and delete goes through `pct exec <vmid>` on the
// node. The SSH session is replaced by a recording fake (the real one is covered in ssh-engine.test.ts).
import { describe, expect, it, vi } from "vitest";
import { scriptCommand } from "../../provisioners/engine/run-script";
import { makeScriptProvider } from "../../provisioners/engine/script-provider";

const commands: string[] = [];
/** The engine's question to the node about the container: a short probe with its own time limit. */
const PROBE = "timeout -k 10 60 bash -s";
/** What the node answers about the container (the engine asks before a refresh or delete). */
let nodeSays = "live";
vi.mock("../../provisioners/engine/ssh", () => ({
  withSession: async (connection: { host: string }, fn: (s: unknown) => Promise<unknown>) =>
    fn({
      connection: { host: connection.host, port: 22, user: "root" },
      address: `${connection.host}:22`,
      hostKey: { openssh: "ssh-ed25519 AAAAfake", type: "ssh-ed25519", fingerprint: "SHA256:fake" },
      attempts: 1,
      exec: async (command: string) => {
        commands.push(command);
        return { code: 0, stdout: command === PROBE ? `${nodeSays}\n` : "observed\n", stderr: "" };
      },
      close: () => undefined,
    }),
}));

describe("inContainer", () => {
  it("runs script, check and delete inside the container and keeps the vmid in state", async () => {
    const p = makeScriptProvider();
    const inputs = {
      connection: { host: "10.0.0.2" },
      script: "true",
      checkScript: "echo observed",
      deleteScript: "true",
      inContainer: 210,
    };
    const created = await p.create!(inputs);
    const outs = created.outs!;
    expect(created.id).toBe("CT 210 on 10.0.0.2@10.0.0.2:22/ct210");
    expect(outs.inContainer).toBe(210);
    await p.read!(created.id, outs);
    await p.delete!(created.id, outs);
    // create and its check in the container; then, for refresh and delete, the node is asked first
    // Every script under the engine's default time limit, inside the container.
    const inCt = "pct exec 210 -- timeout -k 10 3600 bash -s";
    expect(commands).toEqual([inCt, inCt, PROBE, inCt, PROBE, inCt]);
  });

  it("refresh keeps a frozen template's feature and reports a removed container's as gone; delete runs nothing in either", async () => {
    const p = makeScriptProvider();
    const created = await p.create!({
      connection: { host: "10.0.0.2" },
      script: "true",
      checkScript: "echo observed",
      deleteScript: "true",
      inContainer: 901,
    });
    for (const state of ["template", "absent"]) {
      nodeSays = state;
      commands.length = 0;
      const read = await p.read!(created.id, created.outs!);
      expect(read.props).toEqual(created.outs);
      // a template keeps its steps; a container that is gone took them along (an empty id: deleted)
      expect(read.id).toBe(state === "template" ? created.id : "");
      await p.delete!(created.id, created.outs!);
      expect(commands).toEqual([PROBE, PROBE]);
    }
    nodeSays = "live";
  });

  it("a frozen template's step takes a newer script with the same settings as its own; new settings are refused", async () => {
    const p = makeScriptProvider();
    const inputs = { connection: { host: "10.0.0.2" }, script: "echo v1", params: { A: "1" }, inContainer: 901 };
    const created = await p.create!(inputs);
    nodeSays = "template";
    commands.length = 0;
    // An upgraded Phoenix ships a changed script: nothing runs in the template, the new hash is recorded.
    const upgraded = { ...inputs, script: "echo v2" };
    const diff = await p.diff!(created.id, created.outs!, upgraded);
    expect(diff.changes).toBe(true);
    const updated = await p.update!(created.id, created.outs!, upgraded);
    expect(commands).toEqual([PROBE]);
    expect(updated.outs!.script).toBe("echo v2");
    expect((await p.diff!(created.id, updated.outs!, upgraded)).changes).toBe(false);
    // Other settings would need the template rebuilt.
    await expect(p.update!(created.id, updated.outs!, { ...upgraded, params: { A: "2" } })).rejects.toThrow(/frozen template/);
    nodeSays = "live";
  });

  it("rejects a vmid that is no container id", async () => {
    const r = await makeScriptProvider().check!({} as never, { connection: { host: "h" }, script: "true", inContainer: 12 });
    expect(r.failures).toEqual([{ property: "inContainer", reason: "not a container id: 12" }]);
  });
});

describe("the remote command", () => {
  it("runs scripts as root: straight for root, through sudo -n for another user (a VM's cloud-init user)", () => {
    expect(scriptCommand()).toBe("bash -s");
    expect(scriptCommand(undefined, "phoenix")).toBe("sudo -n bash -s");
    expect(scriptCommand(200, "root")).toBe("pct exec 200 -- bash -s");
    expect(scriptCommand(200, "admin")).toBe("sudo -n pct exec 200 -- bash -s");
  });

  it("with a time limit, timeout(1) runs the script where it runs: inside the container, under sudo", () => {
    expect(scriptCommand(undefined, "root", 600)).toBe("timeout -k 10 600 bash -s");
    expect(scriptCommand(undefined, "phoenix", 600)).toBe("sudo -n timeout -k 10 600 bash -s");
    expect(scriptCommand(200, "root", 1200)).toBe("pct exec 200 -- timeout -k 10 1200 bash -s");
    expect(() => scriptCommand(200, "root", 1.5)).toThrow("not a time limit in whole seconds: 1.5");
    expect(() => scriptCommand(200, "root", 0)).toThrow("not a time limit in whole seconds: 0");
  });
});
