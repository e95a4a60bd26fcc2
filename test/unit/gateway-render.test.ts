// The gateway's and the trusted CA's rendered steps as data: the Caddyfile per route, the CA root read from the
// check's output, and the PEM the trust step accepts.
import { describe, expect, it } from "vitest";
import { CADDY_ROOT_CERT, renderCaddyfile, renderGateway, rootCertificateOf } from "../../provisioners/gateway/gateway";
import { TRUSTED_CA_FILE, certificatePem, renderTrustedCa } from "../../provisioners/trusted-ca/trusted-ca";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIBozCCAUmgAwIBAgIQ\nAbC+/9=\n-----END CERTIFICATE-----\n";

describe("the gateway's Caddyfile", () => {
  it("has the local CA with no site, and one site per route sorted by name (https upstreams not verified)", () => {
    const empty = renderCaddyfile([]);
    expect(empty).toContain('\tpki {\n\t\tca local {\n\t\t\tname "Phoenix gateway CA"');
    expect(empty).toContain("\tskip_install_trust\n");
    expect(empty).not.toContain("reverse_proxy");
    const text = renderCaddyfile([
      { fqdn: "web.lab.internal", address: "10.0.0.5", port: 8080, scheme: "http" },
      { fqdn: "portainer.lab.internal", address: "10.0.0.10", port: 9443, scheme: "https" },
    ]);
    const sites = text.split("\n\n").slice(1);
    expect(sites).toEqual([
      "portainer.lab.internal {\n\ttls internal\n\treverse_proxy https://10.0.0.10:9443 {\n\t\ttransport http {\n\t\t\ttls_insecure_skip_verify\n\t\t}\n\t}\n}",
      "web.lab.internal {\n\ttls internal\n\treverse_proxy http://10.0.0.5:8080\n}\n",
    ]);
  });

  it("refuses what is not a name, an address and a port (nothing reaches the file unchecked)", () => {
    const bad = [
      { fqdn: "web.lab.internal {\n}\n:80", address: "10.0.0.5", port: 80 },
      { fqdn: "web.lab.internal", address: "10.0.0.5 { import x }", port: 80 },
      { fqdn: "web.lab.internal", address: "10.0.0.5", port: 70000 },
    ];
    for (const r of bad)
      expect(() => renderCaddyfile([{ ...r, scheme: "http" }])).toThrow(/not a name, an IPv4 address and a port/);
  });

  it("the step carries the Caddyfile and the CA's path as params, its check and delete scripts", () => {
    const r = renderGateway([{ fqdn: "a.lab.internal", address: "10.0.0.5", port: 80, scheme: "http" }]);
    expect(r.params).toEqual({
      GATEWAY_CADDYFILE: renderCaddyfile([{ fqdn: "a.lab.internal", address: "10.0.0.5", port: 80, scheme: "http" }]),
      GATEWAY_ROOT_CERT: CADDY_ROOT_CERT,
    });
    expect(r.script).toContain("phx_apt_install caddy");
    expect(r.checkScript).toContain("differs from the declared sites");
    expect(r.deleteScript).toContain("disable --now");
    expect(r.secretRefs).toEqual({});
  });

  it("reads the CA root from the check's output, and nothing when there is none", () => {
    expect(rootCertificateOf(`caddy v2.6.2 serving 1 site(s) as declared\n${PEM}`)).toBe(PEM);
    expect(rootCertificateOf(`caddy v2.6.2 serving 1 site(s) as declared\n${PEM.trimEnd()}`)).toBe(PEM);
    expect(rootCertificateOf("no CA root at /x\n")).toBe("");
    expect(rootCertificateOf(undefined)).toBe("");
  });
});

describe("the trusted CA step", () => {
  it("takes one PEM certificate and nothing else", () => {
    expect(certificatePem(PEM)).toBe(PEM);
    expect(certificatePem(PEM.trimEnd())).toBe(PEM);
    expect(() => certificatePem("")).toThrow(/not one PEM certificate/);
    expect(() => certificatePem(`${PEM}$(reboot)\n`)).toThrow(/not one PEM certificate/);
    expect(() => certificatePem(`${PEM}${PEM}`)).toThrow(/not one PEM certificate/);
  });

  it("installs into Debian's local CA directory", () => {
    const r = renderTrustedCa();
    expect(r.params).toEqual({ TRUSTED_CA_FILE });
    expect(TRUSTED_CA_FILE).toBe("/usr/local/share/ca-certificates/phoenix-gateway.crt");
    expect(r.script).toContain("update-ca-certificates");
  });
});
