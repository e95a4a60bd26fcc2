// bench/firewall: what the lab's firewall costs per change. The lab renders its whole nftables ruleset again and
// loads it after every firewall write, guest start or stop and config write (pve-firewall polls every 10 s instead);
// this measures that render, and its load with `nft -f` into a table of the bench's own (removed after), for
// generated cluster.fw/<vmid>.fw contents of many guests against one guest, in the same run. Asserts nothing.
// Run: npx tsx bench/firewall.ts [runs=5] [guests=300]   (the load part needs root and nftables; skipped without)
import { existsSync } from "node:fs";
import { type FwGuestPorts, renderRuleset } from "../lab/host/firewall-nft";
import { parseFwFile } from "../lab/pve/firewall-config";
import { run } from "../lab/host/run";

const runs = Number(process.argv[2] ?? 5);
const guests = Number(process.argv[3] ?? 300);
const NFT = "/usr/sbin/nft";
const TABLE = `phoenix-bench-fw-${process.pid}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cluster = parseFwFile(
  [
    "[OPTIONS]\n\nenable: 1\n",
    "[ALIASES]\n\nadmins 192.168.10.0/24\n",
    "[IPSET trusted]\n\n10.0.0.0/16\n!10.0.9.9\n",
    "[RULES]\n\nIN SSH(ACCEPT) -source admins\nIN ACCEPT -p tcp -dport 8006 -source admins\n",
    "[group web]\n\nIN HTTPS(ACCEPT) -source +trusted\nIN ACCEPT -p tcp -dport 8080:8090,9000\n",
  ].join("\n"),
);

/** A guest as the definitions make them: its options, a group, a few rules of its own, one firewalled NIC. */
function guest(i: number): FwGuestPorts {
  const vmid = 1000 + i;
  const ip = `10.0.${Math.floor(i / 250)}.${(i % 250) + 2}`;
  const fw = parseFwFile(
    "[OPTIONS]\n\nenable: 1\npolicy_in: DROP\nipfilter: 1\n\n[RULES]\n\n" +
      "GROUP web\nIN ACCEPT -p tcp -dport 22 -source admins\nIN Ping(ACCEPT)\nOUT DROP -p tcp -dport 25\n",
  );
  const mac = `BC:24:11:${[i >> 16, i >> 8, i].map((b) => (b & 0xff).toString(16).padStart(2, "0")).join(":")}`;
  return { vmid, type: "lxc", fw, ports: [{ net: "net0", dev: `vethb${vmid}i0`, ifindex: 10_000 + i, ips: [ip], mac }] };
}

function time(fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function main() {
  const node = { fw: parseFwFile(""), bridges: ["vmbr0"], standIns: [3142, 5000] };
  const sets = { one: [guest(0)], many: Array.from({ length: guests }, (_, i) => guest(i)) };
  const render = (g: FwGuestPorts[]) => renderRuleset(cluster, g, TABLE, node);
  render(sets.many); // warm-up
  const r1 = time(() => render(sets.one));
  const rN = time(() => render(sets.many));
  const lines = render(sets.many).split("\n").length;
  console.log(`render of the ruleset, median of ${runs} runs (in process)`);
  console.log(`  1 guest    : ${r1.toFixed(2)} ms`);
  console.log(`  ${guests} guests: ${rN.toFixed(2)} ms (${lines} lines), ${(rN / r1).toFixed(1)}× the 1-guest one`);
  if (!existsSync(NFT) || process.getuid?.() !== 0) {
    console.log("load with nft -f: skipped (needs root and nftables)");
    return;
  }
  const texts = { one: render(sets.one), many: render(sets.many) };
  try {
    const l1 = time(() => run(NFT, ["-f", "-"], { input: texts.one }));
    const lN = time(() => run(NFT, ["-f", "-"], { input: texts.many }));
    console.log(`load with nft -f (replacing the table whole, as the lab does), median of ${runs} runs`);
    console.log(`  1 guest    : ${l1.toFixed(1)} ms`);
    console.log(`  ${guests} guests: ${lN.toFixed(1)} ms, ${(lN / l1).toFixed(1)}× the 1-guest one`);
  } finally {
    for (const family of ["bridge", "inet"]) run(NFT, ["delete", "table", family, TABLE], { allowFail: true });
  }
}

main();
