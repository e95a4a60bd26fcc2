// The lab node's `pct`, for the subset the project uses: status, config, start, stop, shutdown,
// exec, push, template. Container configs live in <stateDir>/pve/lxc/<vmid>.conf, in Proxmox's own
// format, as /etc/pve/lxc/<vmid>.conf does on a real node; the lab's API reads the same files.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LabClient } from "../pve/client";
import { Lxc } from "../host/lxc";

export interface PctContext {
  /** The node's own state: its configs (pve/lxc) and containers (lxc). */
  stateDir: string;
  /** The node's name, as Proxmox's messages give it. */
  node: string;
  /** The lab's API: `pct template` goes through it, as Proxmox's pct runs the API's own code. */
  api?: { client: LabClient; node: string };
  out: (s: string) => void;
  err: (s: string) => void;
}

export function confPath(stateDir: string, vmid: number): string {
  return join(stateDir, "pve", "lxc", `${vmid}.conf`);
}

/** The main section of a Proxmox config (before any [snapshot] section), as ordered key/value pairs. */
export function readMainSection(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("[")) break;
    const m = /^([a-z0-9_.-]+):\s?(.*)$/i.exec(line);
    if (m) out.push([m[1]!, m[2]!]);
  }
  return out;
}

const USAGE =
  "usage: pct status|config|start|stop|shutdown|template <vmid> | pct exec <vmid> -- <command…> | pct push <vmid> <file> <destination> [--perms <mode>]";

export async function pct(argv: string[], ctx: PctContext): Promise<number> {
  const [cmd, id, ...rest] = argv;
  const vmid = Number(id);
  if (!cmd || !Number.isInteger(vmid) || vmid < 100) {
    ctx.err(USAGE);
    return 255;
  }
  const conf = confPath(ctx.stateDir, vmid);
  if (!existsSync(conf)) {
    ctx.err(`Configuration file 'nodes/${ctx.node}/lxc/${vmid}.conf' does not exist`);
    return 255;
  }
  const lxc = new Lxc(join(ctx.stateDir, "lxc"));
  const text = readFileSync(conf, "utf8");
  switch (cmd) {
    case "status":
      ctx.out(`status: ${lxc.state(vmid)}`);
      return 0;
    case "config":
      for (const [k, v] of readMainSection(text)) ctx.out(`${k}: ${v}`);
      return 0;
    case "start":
      if (/^template: 1$/m.test(text)) {
        ctx.err(`CT ${vmid} is a template and cannot be started`);
        return 255;
      }
      if (ctx.api) {
        // Through the API, as Proxmox's pct does: the container starts with its current config applied.
        const r = await ctx.api.client.call<string>("POST", `nodes/${ctx.api.node}/lxc/${vmid}/status/start`);
        if (r.status !== 200) {
          ctx.err(r.statusText);
          return 255;
        }
        const done = await ctx.api.client.waitTask(r.body.data, 200, 120_000);
        if (done.exitstatus !== "OK") {
          ctx.err(done.exitstatus ?? "start failed");
          return 255;
        }
        return 0;
      }
      await lxc.start(vmid);
      return 0;
    case "stop":
      lxc.stop(vmid);
      return 0;
    case "shutdown": {
      const t = rest.indexOf("--timeout");
      await lxc.shutdown(vmid, t >= 0 ? Number(rest[t + 1]) : 60);
      return 0;
    }
    case "template": {
      if (/^template: 1$/m.test(text)) {
        ctx.err("you can't convert a template to a template");
        return 255;
      }
      if (!ctx.api) {
        ctx.err("the lab's API is not running (`phoenix lab up` starts it)");
        return 255;
      }
      const r = await ctx.api.client.call("POST", `nodes/${ctx.api.node}/lxc/${vmid}/template`);
      if (r.status !== 200) {
        ctx.err(r.statusText);
        return 255;
      }
      // The API answers null before its worker is done: follow the worker (the newest vztemplate task of this CT).
      for (const end = Date.now() + 300_000; Date.now() < end; await new Promise((res) => setTimeout(res, 200))) {
        const [task] = await ctx.api.client.data<{ status?: string }[]>("GET", `nodes/${ctx.api.node}/tasks`, {
          vmid,
          typefilter: "vztemplate",
          limit: 1,
        });
        if (task?.status === "OK") return 0;
        if (task?.status !== undefined) {
          ctx.err(task.status);
          return 255;
        }
      }
      ctx.err(`CT ${vmid}: conversion to a template did not finish within 300 s`);
      return 255;
    }
    case "exec": {
      const sep = rest.indexOf("--");
      const command = sep >= 0 ? rest.slice(sep + 1) : rest;
      if (command.length === 0) {
        ctx.err(USAGE);
        return 255;
      }
      const r = lxc.exec(vmid, command, await stdinText());
      if (r.stdout) process.stdout.write(r.stdout);
      if (r.stderr) process.stderr.write(r.stderr);
      return r.code;
    }
    case "push": {
      const [from, to, ...opts] = rest;
      if (!from || !to) {
        ctx.err(USAGE);
        return 255;
      }
      const p = opts.indexOf("--perms");
      lxc.push(vmid, from, to, p >= 0 ? parseInt(opts[p + 1]!, 8) : 0o644);
      return 0;
    }
    default:
      ctx.err(`pct ${cmd}: not supported by the lab (${USAGE})`);
      return 255;
  }
}

function stdinText(): Promise<string | undefined> {
  if (process.stdin.isTTY) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let data = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (c) => (data += c));
    process.stdin.on("end", () => resolve(data));
  });
}
