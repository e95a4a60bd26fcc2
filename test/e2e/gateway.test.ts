// End to end, the HTTPS gateway on the lab's real containers with the real engine and provider: Debian's Caddy in one
// guest (through the lab's apt proxy) routing https://hello.lab.internal to a busybox httpd in another, certificates
// from Caddy's internal CA. curl from the service's guest, with verification on: refused (exit 60) until the CA is
// trusted in the guests, then served; a no-op second up; a hand-edited Caddyfile shown by refresh and written back by
// up; the expose removed, its site gone. Names are given to curl with --resolve: DNS is another service's work.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { Lxc } from "../../lab/host/lxc";
import type { PulumiProject } from "../support/pulumi-project";
import { isolatedDevDefinition, plainGuest } from "../support/lab-definition";
import { labStack } from "../support/lab-stack";
import { changes, updatedBy } from "../support/e2e-changes";
import { CADDY_ROOT_CERT } from "../../provisioners/gateway/gateway";

const dir = mkdtempSync(join(tmpdir(), "phoenix-e2e-gateway-"));
const state = join(dir, "state");
const iso = isolatedDevDefinition(dir);
const lxc = new Lxc(join(state, "lxc"));
let project: PulumiProject;
let teardown: () => Promise<void>;
const times: Record<string, number> = {};

const GW = 300;
const WEB = 310;
const CADDYFILE = "/etc/caddy/Caddyfile";
const inCt = (vmid: number, command: string) => lxc.exec(vmid, ["bash", "-c", command]);
async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await f();
  } finally {
    times[name] = (Date.now() - t) / 1000;
  }
}

/** A small HTTP server as a unit: busybox httpd from Debian's package, serving one page on 8080. */
const WEB_SCRIPT = `set -euo pipefail
command -v busybox >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends busybox; }
mkdir -p /srv/www
echo "hello through the gateway" > /srv/www/index.html
cat > /etc/systemd/system/phoenix-web.service <<'UNIT'
[Unit]
Description=test page (busybox httpd)
[Service]
ExecStart=/bin/busybox httpd -f -p 8080 -h /srv/www
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now phoenix-web
`;

const domain = () => iso.raw.network.domain as string;
const gatewayIp = () => inCt(GW, "ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1").stdout.trim();
/** curl from the service's guest with verification on; its exit code and body. */
function curlHello(extra = ""): { code: number; body: string } {
  const fqdn = `hello.${domain()}`;
  const r = inCt(WEB, `curl -sS --max-time 20 ${extra} --resolve ${fqdn}:443:${gatewayIp()} https://${fqdn}/`);
  return { code: r.code, body: r.stdout };
}

function definition(trustInGuests: boolean, exposed = true) {
  const d = iso.raw;
  d.nodes[0].zfs.datasets = d.nodes[0].zfs.datasets.map((x: any) => ({ ...x, protect: false }));
  // The base template only: no golden template to build, two plain containers.
  d.templates = [d.templates[0]];
  d.apps = [];
  const guest = (vmid: number, name: string, extra: Record<string, unknown> = {}) => plainGuest(iso, vmid, name, extra);
  d.guests = [
    guest(GW, "gw"),
    guest(WEB, "web", {
      features: { script: { path: "scripts/web.sh" } },
      ...(exposed ? { expose: [{ name: "hello", port: 8080 }] } : {}),
    }),
  ];
  d.gateway = { guest: "gw", trustInGuests };
  return d;
}
const writeDefinition = (trust: boolean, exposed = true) =>
  writeFileSync(project.definition, stringify(definition(trust, exposed)));

beforeAll(async () => {
  definition(false);
  ({ project, teardown } = await labStack({ dir, iso, stackName: "gateway", files: { "scripts/web.sh": WEB_SCRIPT } }));
}, 30 * 60_000);

afterAll(async () => {
  console.log(`gateway e2e timings (s): ${JSON.stringify(times)}`);
  await teardown?.();
}, 300_000);

describe("the HTTPS gateway on the lab", () => {
  it(
    "up installs Caddy with a site per exposed service; its certificate is refused where the CA is not trusted",
    async () => {
      const up = await timed("first up", () => project.stack.up());
      expect(up.summary.result).toBe("succeeded");
      expect(inCt(GW, "dpkg-query -W -f='${Status}' caddy").stdout).toBe("install ok installed");
      expect(inCt(GW, `cat ${CADDYFILE}`).stdout).toContain(`hello.${domain()} {`);
      // Verification on, no CA in the store: curl's "SSL certificate problem" (60).
      expect(curlHello().code).toBe(60);
      // The route itself works: without verification the page comes through the gateway.
      expect(curlHello("-k").body).toContain("hello through the gateway");
      // The stack's output is the root Caddy made.
      const outputs = await project.stack.outputs();
      const ca = outputs.gatewayCaCertificate!.value as string;
      expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
      expect(inCt(GW, `cat ${CADDY_ROOT_CERT}`).stdout).toBe(ca);
    },
    30 * 60_000,
  );

  it(
    "trustInGuests puts the CA in every guest's store: curl verifies the gateway; a second up changes nothing",
    async () => {
      writeDefinition(true);
      const up = await timed("trust up", () => project.stack.up());
      expect(up.summary.result).toBe("succeeded");
      // One step per guest (gw and web); the gateway itself is unchanged.
      expect(changes(up.summary.resourceChanges)).toEqual({ create: 2 });
      const r = curlHello();
      expect(r.code).toBe(0);
      expect(r.body).toContain("hello through the gateway");
      expect(inCt(WEB, "test -s /usr/local/share/ca-certificates/phoenix-gateway.crt").code).toBe(0);
      const again = await timed("no-op up", () => project.stack.up());
      expect(changes(again.summary.resourceChanges)).toEqual({});
    },
    30 * 60_000,
  );

  it(
    "a hand-edited Caddyfile shows on refresh, and up writes the declared one back",
    async () => {
      const declared = inCt(GW, `cat ${CADDYFILE}`).stdout;
      expect(inCt(GW, `sed -i 's/8080/9999/' ${CADDYFILE} && systemctl reload caddy`).code).toBe(0);
      // Caddy answers 502 for the upstream no one listens on (curl's exit is 0 without -f): the page is gone.
      expect(curlHello().body).not.toContain("hello through the gateway");
      expect(await timed("drift refresh", () => updatedBy((o) => project.stack.refresh(o)))).toEqual(["gateway-caddy"]);
      expect(await timed("repair up", () => updatedBy((o) => project.stack.up(o)))).toEqual(["gateway-caddy"]);
      expect(inCt(GW, `cat ${CADDYFILE}`).stdout).toBe(declared);
      expect(curlHello().body).toContain("hello through the gateway");
      expect(changes((await project.stack.up()).summary.resourceChanges)).toEqual({});
    },
    30 * 60_000,
  );

  it(
    "removing the expose removes its site",
    async () => {
      writeDefinition(true, false);
      const up = await timed("unexpose up", () => project.stack.up());
      expect(up.summary.result).toBe("succeeded");
      expect(changes(up.summary.resourceChanges)).toEqual({ update: 1 });
      expect(inCt(GW, `cat ${CADDYFILE}`).stdout).not.toContain("hello.");
      // No site for the name: Caddy answers its TLS handshake with an alert (curl's 35), never the page.
      const r = curlHello();
      expect(r.code).not.toBe(0);
      expect(r.body).not.toContain("hello through the gateway");
    },
    30 * 60_000,
  );
});
