// The node's DNS server step (provisioners/dns/): the dnsmasq file rendered from the plan, and the real scripts run by
// bash against recording doubles (apt-get, dpkg-query, systemctl) on a node tree under PHX_ROOT: what is installed,
// written and restarted, what a second run does, what the check reports after a hand edit, and what delete leaves.
import { afterEach, describe, expect, it } from "vitest";
import { type DnsServerSettings, dnsmasqConf, renderDnsServer } from "../../provisioners/dns/dns";
import { GuestSandbox, ok } from "../support/guest-sandbox";

const sandboxes: GuestSandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));
function node(): GuestSandbox {
  const s = new GuestSandbox();
  sandboxes.push(s);
  return s;
}

const settings: DnsServerSettings = {
  listen: "10.100.0.1",
  domain: "lab.internal",
  upstream: ["192.0.2.53", "192.0.2.54"],
  records: [
    { name: "data.lab.internal", address: "10.100.0.100" },
    { name: "portainer.lab.internal", address: "10.100.0.10" },
  ],
};
const CONF = "etc/dnsmasq.d/phoenix.conf";

describe("dnsmasqConf()", () => {
  it("listens on the bridge address only, forwards to the upstreams only, answers the domain itself", () => {
    expect(dnsmasqConf(settings)).toBe(
      [
        "# Managed by Phoenix Hypervisor (network.dns): the names of lab.internal. Edits here are undone by the next up.",
        "listen-address=10.100.0.1",
        "bind-interfaces",
        "no-hosts",
        "no-resolv",
        "server=192.0.2.53",
        "server=192.0.2.54",
        "local=/lab.internal/",
        "domain=lab.internal",
        "host-record=data.lab.internal,10.100.0.100",
        "host-record=portainer.lab.internal,10.100.0.10",
        "",
      ].join("\n"),
    );
  });

  it("refuses anything that is not an address or a name where one goes (no second line through a value)", () => {
    expect(() => dnsmasqConf({ ...settings, listen: "10.0.0.1\nserver=6.6.6.6" })).toThrow(/not an IPv4 address/);
    expect(() => dnsmasqConf({ ...settings, domain: "lab.internal/\naddress=/#/6.6.6.6" })).toThrow(/not an IPv4 DNS name/);
    expect(() => dnsmasqConf({ ...settings, records: [{ name: "x.lab.internal", address: "10.0.0.300" }] })).toThrow();
  });
});

describe("the DNS server's scripts on a node", () => {
  const r = renderDnsServer(settings);

  it("writes the file before installing dnsmasq, restarts it and enables it; a second run does nothing", () => {
    const s = node();
    const first = ok(s.run(r.script, r.params));
    expect(s.read(CONF)).toBe(dnsmasqConf(settings));
    // the file first: the package's own first start already listens only where it says
    expect(first.stdout.indexOf(`wrote ${s.file(CONF)}`)).toBeGreaterThanOrEqual(0);
    expect(first.stdout.indexOf(`wrote ${s.file(CONF)}`)).toBeLessThan(first.stdout.indexOf("installing dnsmasq"));
    const calls = first.calls.filter((c) => !c.startsWith("dpkg-query"));
    expect(calls).toEqual([
      expect.stringMatching(/^apt-get .*update$/),
      expect.stringMatching(/^apt-get .*install --no-install-recommends dnsmasq$/),
      "systemctl restart dnsmasq",
      "systemctl is-enabled --quiet dnsmasq",
      "systemctl enable --quiet dnsmasq",
    ]);
    expect(ok(s.run(r.checkScript!, r.params)).stdout).toMatch(/phoenix\.conf: as planned \([0-9a-f]{12}\)\ndnsmasq: active\n$/);

    const again = ok(s.run(r.script, r.params));
    expect(again.calls.filter((c) => c.startsWith("apt-get") || / (restart|enable) /.test(c))).toEqual([]);
  });

  it("a hand edit fails the check (drift) and the next run puts the file back and restarts", () => {
    const s = node();
    ok(s.run(r.script, r.params));
    const planned = s.run(r.checkScript!, r.params).stdout;
    s.write(CONF, s.read(CONF).replace("10.100.0.100", "10.100.0.99"));
    const drift = s.run(r.checkScript!, r.params);
    expect(drift.code).not.toBe(0);
    expect(drift.stdout).toContain("phoenix.conf: differs from the plan");
    expect(drift.stdout).not.toBe(planned);
    const repair = ok(s.run(r.script, r.params));
    expect(repair.calls).toContain("systemctl restart dnsmasq");
    expect(s.read(CONF)).toBe(dnsmasqConf(settings));
    expect(s.run(r.checkScript!, r.params).stdout).toBe(planned);
  });

  it("a stopped dnsmasq fails the check and is started by the next run without rewriting the file", () => {
    const s = node();
    ok(s.run(r.script, r.params));
    s.run("systemctl stop dnsmasq", {});
    const check = s.run(r.checkScript!, r.params);
    expect(check.code).not.toBe(0);
    expect(check.stdout).toContain("dnsmasq: not running");
    const repair = ok(s.run(r.script, r.params));
    expect(repair.stdout).not.toContain("wrote");
    expect(repair.calls).toContain("systemctl restart dnsmasq");
  });

  it("delete removes the file and stops dnsmasq when nothing else configures it, restarts it when something does", () => {
    const alone = node();
    ok(alone.run(r.script, r.params));
    const gone = ok(alone.run(r.deleteScript!, r.params));
    expect(alone.hasState("active-dnsmasq")).toBe(false);
    expect(gone.calls).toContain("systemctl stop dnsmasq");
    expect(() => alone.read(CONF)).toThrow();

    const shared = node();
    ok(shared.run(r.script, r.params));
    shared.write("etc/dnsmasq.d/sdn.conf", "# the admin's\nlisten-address=10.9.0.1\n");
    const kept = ok(shared.run(r.deleteScript!, r.params));
    expect(kept.calls).toContain("systemctl restart dnsmasq");
    expect(kept.calls).not.toContain("systemctl stop dnsmasq");
    expect(shared.hasState("active-dnsmasq")).toBe(true);
  });
});
