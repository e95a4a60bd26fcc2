// Apps' { endpoint } variables: the guest they name runs the model server asked for, at an address the plan knows and
// other guests can reach, so the app gets the plan's URL (plan/apps.ts resolves it with definition/serving.ts).
import { type Problem, error } from "../definition/problems";
import type { Index } from "../definition/resolve";
import { type App, type EndpointRef, FEATURE_DEFAULTS } from "../definition/schema";
import type { ServingService } from "../definition/serving";

const SERVICES: ServingService[] = ["vllm", "ollama"];
const isLoopback = (host: string) => /^(127\.|localhost$|::1$)/.test(host);

export function checkEndpointVariables(ix: Index, app: App, path: string, out: Problem[]): void {
  for (const [k, v] of Object.entries(app.variables))
    if (typeof v === "object" && "endpoint" in v) checkEndpoint(ix, app, v, `${path}.variables.${k}`, out);
}

function checkEndpoint(ix: Index, app: App, ref: EndpointRef, at: string, out: Problem[]) {
  const m = ix.byName.get(ref.endpoint);
  if (!m || m.kind !== "guest")
    return void out.push(
      error(
        `${at}.endpoint`,
        m ? `'${ref.endpoint}' is a golden template: endpoints are guests' servers` : `unknown guest '${ref.endpoint}'`,
        "name a guest (guests[].name) that runs vllm or ollama",
      ),
    );
  const features = ix.effective(m).features;
  const runs = SERVICES.filter((s) => features[s] !== undefined);
  if (ref.service !== undefined && !runs.includes(ref.service))
    return void out.push(
      error(
        `${at}.service`,
        `guest '${m.name}' runs no ${ref.service}${runs.length ? ` (it runs ${runs.join(" and ")})` : ""}`,
        runs.length
          ? `set service: ${runs[0]}, or name the guest that runs ${ref.service}`
          : "name a guest that runs vllm or ollama",
      ),
    );
  if (ref.service === undefined && runs.length !== 1)
    return void out.push(
      error(
        at,
        runs.length
          ? `guest '${m.name}' runs both vllm and ollama: which one is not said`
          : `guest '${m.name}' runs no vllm or ollama`,
        runs.length ? "add service: vllm or service: ollama" : "name a guest that runs vllm or ollama",
      ),
    );
  const service = ref.service ?? runs[0]!;
  const ip = (m.def.network ?? [])[0]?.ip;
  if (ip === undefined || ip === "dhcp")
    out.push(
      error(
        `${at}.endpoint`,
        `guest '${m.name}' has ${ip === undefined ? "no network interface" : "a DHCP address"}, so the plan has no URL for its ${service}`,
        `give guest '${m.name}''s first interface a static address or ip: auto (from a pool)`,
      ),
    );
  const host = features[service]?.host ?? FEATURE_DEFAULTS[service].host;
  const elsewhere = app.guests.filter((g) => g !== m.name);
  if (isLoopback(host) && elsewhere.length > 0)
    out.push(
      error(
        `${at}.endpoint`,
        `${service} on '${m.name}' listens on ${host} only, which app '${app.name}' on ${elsewhere.join(", ")} cannot reach`,
        `set features.${service}.host to 0.0.0.0 (or the guest's address) on '${m.name}'`,
      ),
    );
}
