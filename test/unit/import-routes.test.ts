// phoenix import of the original's routes and DNS: traefik_service and the stacks' Traefik labels → expose, the
// traefik guest and trusted_ca → gateway, dns_server and domain_name → network.dns, with what cannot be mapped reported.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { importPhoenix, readJson, readStackDir } from "../../cli/import";
import { Warnings } from "../../cli/import/reader";
import { exposeFromLabels } from "../../cli/import/routes";

const REF = join(__dirname, "..", "..", "..", "shared", "phoenix-reference");
const ref = (f: string) => ({ file: join(REF, f), json: readJson(join(REF, f)) });

function importRef(edit?: (h: any, l: any, v: any) => void) {
  const h = ref("phoenix_hypervisor_config.json");
  const l = ref("phoenix_lxc_configs.json");
  const v = ref("phoenix_vm_configs.json");
  edit?.(h.json, l.json, v.json);
  return importPhoenix({
    hypervisor: h,
    lxc: l,
    vm: v,
    stacks: { stacks: readStackDir(join(REF, "stacks")), config: ref("phoenix_stacks_config.json") },
  });
}
type Result = ReturnType<typeof importRef>;
const said = (r: Result | Warnings, re: RegExp) =>
  ("warnings" in r ? r.warnings : r.list).filter((w) => re.test(`${w.where} :: ${w.message} ${w.fix ?? ""}`));

describe("import of the reference configs' routes, gateway and DNS", () => {
  const r = importRef();

  it("exposes each guest's traefik_service, https for 443/8443/9443 and services known to speak it", () => {
    const exposed = r.definition.guests!.flatMap((g) => (g.expose ?? []).map((e) => [g.name, e.name, e.port, e.scheme]));
    expect(exposed).toHaveLength(8);
    expect(exposed).toEqual(
      expect.arrayContaining([
        // its own name is the guest's in the DNS: the route gets another, and the import says so
        ["granite-embedding", "granite-embedding-web", 8000, "http"],
        ["granite-3.3-8b-fp8", "granite-3b", 8000, "http"],
        ["Nginx-Phoenix", "nginx", 443, "https"],
        ["ollama-gpu0", "ollama", 11434, "http"],
        ["llamacpp-gpu0", "llamacpp", 8081, "http"],
        ["Step-CA", "ca", 9000, "https"],
        ["Portainer", "portainer", 9443, "https"],
        ["drphoenix", "portainer-agent", 9001, "https"],
      ]),
    );
  });

  it("renames a service named like its guest, whose name the DNS gives the guest itself", () => {
    expect(said(r, /service 'granite-embedding' exposed as 'granite-embedding-web'/)).toHaveLength(1);
  });

  it("exposes an app's Host() label on the port its compose file publishes, and keeps no labels", () => {
    const qdrant = r.definition.apps!.find((a) => a.name === "qdrant_service")!;
    expect(qdrant.expose).toEqual([{ name: "qdrant", port: 6333, scheme: "http" }]);
    expect(qdrant.traefikLabels).toBeUndefined();
    expect(said(r, /traefik_labels :: label/)).toEqual([]);
  });

  it("makes the traefik guest the gateway, trusted_ca its trustInGuests, and says who trusts it now", () => {
    expect(r.definition.gateway).toEqual({ guest: "Traefik-Internal", trustInGuests: true });
    expect(said(r, /lxc_configs\.102\.features :: 'Traefik-Internal' \(traefik\) is the gateway's guest/)).toHaveLength(1);
    expect(
      said(r, /trusted_ca → gateway.trustInGuests: every guest trusts the gateway's CA, also Step-CA, granite-embedding/),
    ).toHaveLength(1);
    expect(said(r, /feature '(traefik|trusted_ca)' has no equivalent/)).toEqual([]);
  });

  it("maps dns_server and domain_name to network.domain and network.dns on the node's address", () => {
    expect(r.definition.network.domain).toBe("internal.thinkheads.ai");
    expect(r.definition.network.dns).toEqual({ node: "pve", listen: "10.0.0.13", upstream: ["8.8.8.8", "1.1.1.1"] });
    expect(said(r, /dns_server/)).toEqual([]);
  });
});

describe("import of hostile and historical routes and DNS", () => {
  it("reports a traefik_service without a port, renames an odd name, honours a scheme", () => {
    const r = importRef((_h, l, v) => {
      l.lxc_configs["801"].traefik_service = { name: "granite-embedding" };
      l.lxc_configs["802"].traefik_service = { name: "Granite_3B", port: "8000" };
      l.lxc_configs["914"].traefik_service = { name: "ollama", port: 11434, scheme: "https", weight: 1 };
      delete v.vms[1].traefik_service;
    });
    const g = (n: string) => r.definition.guests!.find((x) => x.name === n)!;
    expect(g("granite-embedding").expose).toBeUndefined();
    expect(g("granite-3.3-8b-fp8").expose).toEqual([{ name: "granite-3b", port: 8000, scheme: "http" }]);
    expect(g("ollama-gpu0").expose).toEqual([{ name: "ollama", port: 11434, scheme: "https" }]);
    expect(g("Portainer").expose).toBeUndefined();
    expect(said(r, /801\.traefik_service\.port :: no valid port; not exposed/)).toHaveLength(1);
    expect(said(r, /802\.traefik_service\.name :: service name 'Granite_3B' exposed as 'granite-3b'/)).toHaveLength(1);
    expect(said(r, /914\.traefik_service\.weight :: not mapped: unknown field/)).toHaveLength(1);
  });

  it("without a traefik guest: no gateway, and trusted_ca reported on each guest that had it", () => {
    const r = importRef((_h, l) => {
      l.lxc_configs["102"].features = ["base_setup", "trusted_ca"];
    });
    expect(r.definition.gateway).toBeUndefined();
    expect(said(r, /features :: feature 'trusted_ca' not mapped: no gateway/)).toHaveLength(4);
  });

  it("a disabled DNS server, other zones, a bad upstream and a missing domain are each reported", () => {
    const off = importRef((h) => (h.dns_server.enabled = false));
    expect(off.definition.network.dns).toBeUndefined();
    expect(said(off, /dns_server\.enabled :: the DNS server is disabled; no network.dns imported/)).toHaveLength(1);
    const odd = importRef((h) => {
      h.dns_server.authoritative_zones = ["lab.example"];
      h.dns_server.upstream_servers = ["8.8.8.8", "dns.google", "8.8.8.8"];
    });
    expect(odd.definition.network.dns!.upstream).toEqual(["8.8.8.8"]);
    expect(said(odd, /authoritative_zones :: not mapped: the internal DNS server answers for network.domain only/)).toHaveLength(
      1,
    );
    expect(said(odd, /upstream 'dns.google' is not an IPv4 address; dropped/)).toHaveLength(1);
    const nodomain = importRef((h) => delete h.domain_name);
    expect(nodomain.definition.network.dns).toBeUndefined();
    expect(
      said(nodomain, /dns_server :: not mapped: the DNS server names guests under domain_name, which is not set/),
    ).toHaveLength(1);
    const none = importRef((h) => delete h.dns_server);
    expect(none.definition.network.dns).toBeUndefined();
  });

  it("labels: published ports, other domains, unpublished ports, scheme labels and unknown labels", () => {
    const doc = {
      services: {
        web: { ports: ["8080:80", { target: 443, published: 8443 }] },
        api: { ports: ["127.0.0.1:9000:9000/tcp"] },
        hidden: { expose: ["7000"] },
      },
    };
    const w = new Warnings();
    const out = exposeFromLabels(
      {
        web: [
          "traefik.http.routers.web.rule=Host(`www.lab.internal`) || Host(`shop.lab.internal`)",
          "traefik.http.services.web.loadbalancer.server.port=80",
          "traefik.http.routers.web.middlewares=auth",
        ],
        api: [
          "traefik.http.routers.api.rule=Host(`api.example.com`)",
          "traefik.http.services.api.loadbalancer.server.port=9000",
          "traefik.http.services.api.loadbalancer.server.scheme=https",
        ],
        hidden: ["traefik.http.routers.h.rule=Host(`h.lab.internal`)", "traefik.http.services.h.loadbalancer.server.port=7000"],
        noport: ["traefik.http.routers.n.rule=Host(`n.lab.internal`)"],
      },
      doc,
      "lab.internal",
      "s.json: env",
      w,
    );
    expect(out).toEqual([
      { name: "www", port: 8080, scheme: "http" },
      { name: "shop", port: 8080, scheme: "http" },
      { name: "api", port: 9000, scheme: "https" },
    ]);
    expect(said(w, /web\.traefik_labels :: label 'traefik.http.routers.web.middlewares=auth' not mapped/)).toHaveLength(1);
    expect(
      said(w, /api\.traefik_labels :: Host api.example.com is not <name>.lab.internal; exposed as 'api.<domain>'/),
    ).toHaveLength(1);
    expect(said(w, /hidden\.traefik_labels :: h.lab.internal not exposed: services.hidden publishes no port 7000/)).toHaveLength(
      1,
    );
    expect(said(w, /noport\.traefik_labels :: no loadbalancer.server.port label for n.lab.internal; not exposed/)).toHaveLength(
      1,
    );
    expect(w.list).toHaveLength(4);
  });
});
