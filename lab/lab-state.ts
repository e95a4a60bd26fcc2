// lab.json: what `lab up` made (pools, bridges, templates, ports, the API's settings), kept so `down` and `status` know
// it without the definition.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ApiSettings } from "./api-daemon";
import type { NodeSshEntry } from "./node-sshd";

/** Where a lab keeps its state: $PHOENIX_LAB_DIR, else $XDG_STATE_HOME/phoenix-lab (~/.local/state/phoenix-lab). */
export function defaultStateDir(): string {
  return process.env.PHOENIX_LAB_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "phoenix-lab");
}

/** What `up` made, kept so `down` and `status` know it without the definition. */
export interface LabState {
  pools: string[];
  bridges: string[];
  templates: string[];
  sshPort: number;
  /** The sshds of the nodes beyond the first (node-sshd.ts). */
  nodeSsh?: NodeSshEntry[];
  aptProxy?: string;
  api: ApiSettings;
}

export function statePath(dir: string) {
  return join(dir, "lab.json");
}

export function readState(dir: string): LabState | undefined {
  return existsSync(statePath(dir)) ? (JSON.parse(readFileSync(statePath(dir), "utf8")) as LabState) : undefined;
}
