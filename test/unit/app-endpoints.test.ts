// Apps wired to the plan's model servers by name ({ endpoint } variables): validation refuses what has no URL or
// cannot be reached, and the plan gives each variable the very URL the guest's summary shows (stacks/ai-host.yaml's
// Open WebUI), which the rendered project's .env carries.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { summarize } from "../../components/phoenix-hypervisor";
import { buildPlan } from "../../plan/plan";
import { renderPlan } from "../../plan/render";
import { renderApp } from "../../provisioners/app/render";
import { loadDefinition } from "../../validate";
import { type Raw, base, errorPaths, lxc, problemsOf } from "./validate/support";

const stacks = join(__dirname, "..", "..", "stacks");

describe("stacks/ai-host.yaml's Open WebUI", () => {
  const def = loadDefinition(join(stacks, "ai-host.yaml")).definition!;
  const plan = buildPlan(def);
  const app = plan.apps.find((a) => a.name === "open-webui")!;
  const summary = (guest: string) => summarize(plan.machines.find((m) => m.name === guest)!);

  it("gets the URLs of the plan's Ollama and vLLM servers, the same the guests' summaries show", () => {
    expect(app.endpoints).toEqual({
      OLLAMA_URL: { guest: "ollama", service: "ollama", url: summary("ollama").endpoints.ollama },
      CHAT_URL: { guest: "vllm-gpu0", service: "vllm", url: summary("vllm-gpu0").endpoints.vllm },
      LARGE_CHAT_URL: { guest: "vllm-dual", service: "vllm", url: summary("vllm-dual").endpoints.vllm },
    });
    expect(app.variables["OLLAMA_URL"]).toMatch(/^http:\/\/10\.0\.0\.\d+:11434$/);
    expect(app.variables["CHAT_URL"]).toMatch(/^http:\/\/10\.0\.0\.\d+:8000\/v1$/);
    expect(new Set(Object.values(app.variables)).size).toBe(3);
    expect(renderPlan(plan)).toContain(`OLLAMA_URL = ${app.variables["OLLAMA_URL"]} (ollama on ollama)`);
  });

  it("writes them into the project's .env, where the compose file's Open WebUI settings take them", () => {
    const compose = readFileSync(join(stacks, app.compose), "utf8");
    const rendered = renderApp(app, compose, {});
    for (const k of ["OLLAMA_URL", "CHAT_URL", "LARGE_CHAT_URL"]) expect(rendered.env).toContain(`${k}='${app.variables[k]}'`);
    expect(compose).toContain("OLLAMA_BASE_URLS: ${OLLAMA_URL}");
    expect(compose).toContain('OPENAI_API_BASE_URLS: "${CHAT_URL};${LARGE_CHAT_URL}"');
  });

  it("follows the guest: another port or address is another URL", () => {
    const raw = JSON.parse(JSON.stringify(def));
    const ollama = raw.guests.find((g: Raw) => g.name === "ollama");
    ollama.features.ollama.port = 11500;
    ollama.network = [{ name: "eth0", bridge: "vmbr0", ip: "10.0.0.77/24" }];
    expect(buildPlan(raw).apps[0]!.variables["OLLAMA_URL"]).toBe("http://10.0.0.77:11500");
  });
});

describe("{ endpoint } variables that validation refuses", () => {
  // The app's compose file, in a project directory of the test's own (validation reads it).
  const dir = mkdtempSync(join(tmpdir(), "phoenix-app-endpoints-"));
  mkdirSync(join(dir, "apps", "ui"), { recursive: true });
  writeFileSync(
    join(dir, "apps", "ui", "compose.yaml"),
    "services:\n  ui:\n    image: busybox:1.36\n    environment:\n      URL: ${URL}\n",
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ollama = (extra: Raw = {}) => ({ ollama: { models: ["llama3.2:1b"], ...extra } });
  const withApp = (variables: Raw, guests: Raw[], appGuests = ["portainer"]) => {
    const raw = base();
    raw.guests.push(...guests);
    raw.apps = [{ name: "ui", compose: "apps/ui/compose.yaml", guests: appGuests, variables }];
    return problemsOf(raw, dir);
  };
  const appErrors = (ps: ReturnType<typeof problemsOf>) => errorPaths(ps).filter((p) => p.startsWith("apps["));

  it.each([
    {
      name: "an unknown guest",
      variables: { URL: { endpoint: "nowhere" } },
      guests: [],
      path: "apps[0].variables.URL.endpoint",
      message: "unknown guest 'nowhere'",
    },
    {
      name: "a golden template",
      variables: { URL: { endpoint: "docker-golden" } },
      guests: [],
      path: "apps[0].variables.URL.endpoint",
      message: "'docker-golden' is a golden template: endpoints are guests' servers",
    },
    {
      name: "a guest without a model server",
      variables: { URL: { endpoint: "data" } },
      guests: [],
      path: "apps[0].variables.URL",
      message: "guest 'data' runs no vllm or ollama",
    },
    {
      name: "a service the guest does not run",
      variables: { URL: { endpoint: "chat", service: "vllm" } },
      guests: [lxc(220, "chat", { features: ollama() })],
      path: "apps[0].variables.URL.service",
      message: "guest 'chat' runs no vllm (it runs ollama)",
    },
    {
      name: "a DHCP guest",
      variables: { URL: { endpoint: "chat" } },
      guests: [lxc(220, "chat", { features: ollama(), network: [{ ip: "dhcp" }] })],
      path: "apps[0].variables.URL.endpoint",
      message: "guest 'chat' has a DHCP address, so the plan has no URL for its ollama",
    },
    {
      name: "a server on loopback, from another guest",
      variables: { URL: { endpoint: "chat" } },
      guests: [lxc(220, "chat", { features: ollama({ host: "127.0.0.1" }) })],
      path: "apps[0].variables.URL.endpoint",
      message: "ollama on 'chat' listens on 127.0.0.1 only, which app 'ui' on portainer cannot reach",
    },
  ])("$name", ({ variables, guests, path, message }) => {
    const problems = withApp(variables, guests);
    expect(problems).toContainEqual(expect.objectContaining({ severity: "error", path, message }));
    expect(problems.find((p) => p.path === path)!.fix).toBeTruthy();
    expect(appErrors(problems)).toEqual([path]);
  });

  it("accepts a reachable server and says nothing about the app", () => {
    const problems = withApp({ URL: { endpoint: "chat" } }, [lxc(220, "chat", { features: ollama() })]);
    expect(appErrors(problems)).toEqual([]);
  });

  it("the shape refuses a service that is no model server, naming the field", () => {
    const problems = withApp({ URL: { endpoint: "chat", service: "portainer" } }, [lxc(220, "chat", { features: ollama() })]);
    expect(errorPaths(problems).some((p) => p.startsWith("apps[0].variables.URL"))).toBe(true);
  });
});
