// `phoenix lab up|down|status|reset|api|pct`: the lab's own entry, which the phoenix launcher dispatches to.
// The product's CLI (cli/) never imports the lab.
import { parseArgs } from "node:util";
import { type Io, UsageError, report } from "../cli/io";
import { loadDefinition } from "../validate";
import { type LabUp, defaultStateDir, labDown, labPct, labReset, labServeApi, labStatus, labUp } from "./lab";

export async function labCommand(args: string[], io: Io): Promise<number> {
  if (args[0] === "pct") return labPct(args.slice(1));
  if (args[0] === "api") {
    await labServeApi();
    return new Promise<number>(() => {}); // serves until SIGTERM
  }
  const { values, positionals } = parseArgs({
    args,
    options: { definition: { type: "string" }, "state-dir": { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  const [action, ...extra] = positionals;
  if (extra.length || !action || !["up", "down", "status", "reset"].includes(action))
    throw new UsageError("lab takes one of up, down, status, reset");
  const stateDir = values["state-dir"] ?? defaultStateDir();
  const log = (s: string) => io.err(`lab: ${s}`);
  if (action === "status") {
    io.out(JSON.stringify(labStatus(stateDir), null, 2));
    return 0;
  }
  if (action === "down" || action === "reset") {
    await (action === "down" ? labDown(stateDir, log) : labReset(stateDir, log));
    io.out(`lab ${action === "down" ? "is down" : "is reset"} (${stateDir})`);
    return 0;
  }
  const file = values.definition ?? "stacks/dev.yaml";
  const r = loadDefinition(file);
  if (!report(io, file, r.problems)) return 1;
  const up = await labUp({ definition: r.definition!, stateDir, log });
  io.out(upSummary(up));
  return 0;
}

/** What `lab up` tells a person: how to reach each node's sshd (one client key for all), the apt proxy and the API. */
export function upSummary(up: LabUp): string {
  return [
    `lab is up (${up.stateDir}): node ssh root@127.0.0.1 -p ${up.sshPort} -i ${up.stateDir}/ssh/client_ed25519${up.aptProxy ? `; apt proxy ${up.aptProxy}` : ""}`,
    ...up.nodes.map((n) => `node ${n.node}: ssh root@127.0.0.1 -p ${n.sshPort} (the same key)`),
    `API ${up.apiUrl}, certificate fingerprint (nodes[].api.fingerprint) ${up.apiFingerprint}`,
  ].join("\n");
}
