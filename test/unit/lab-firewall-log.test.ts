// pve-firewall's log as the lab keeps it: a packet ulogd2 recorded becomes the line pvefw-logger writes, and the API's
// pages of those lines follow pve-common's dump_logfile (start, limit, since, until, numbering, "no content").
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dumpLog, lineTime, logPrefix, logTime, pvefwLine } from "../../lab/pve/firewall-log";

/** A record as ulogd2's JSON output wrote it here for a SYN to port 9 that a policy dropped. */
const SYN = {
  timestamp: "2026-12-02T09:50:11.858376",
  "oob.prefix": ":101:6:veth101i0-IN: policy DROP: ",
  "oob.time.sec": 1796205011,
  "oob.family": 2,
  "ip.protocol": 6,
  "ip.tos": 0,
  "ip.ttl": 64,
  "ip.totlen": 60,
  "ip.id": 64863,
  "ip.fragoff": 16384,
  src_port: 32872,
  dest_port: 9,
  "tcp.seq": 4220216498,
  "tcp.ackseq": 0,
  "tcp.window": 65495,
  "tcp.syn": 1,
  "oob.in": "fwbr101i0",
  "oob.out": "",
  src_ip: "10.0.0.5",
  dest_ip: "10.0.0.101",
  "mac.str": "bc:24:11:00:00:65:bc:24:11:00:00:05:08:00",
};

describe("a logged packet as pvefw-logger's line", () => {
  it("vmid, level, chain, time and message from the prefix, then the packet as the LOG target prints it", () => {
    expect(pvefwLine(SYN, 0)).toBe(
      "101 6 veth101i0-IN 02/Dec/2026:09:50:11 +0000 policy DROP: IN=fwbr101i0 MAC=bc:24:11:00:00:65:bc:24:11:00:00:05:08:00 " +
        "SRC=10.0.0.5 DST=10.0.0.101 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=64863 DF " +
        "PROTO=TCP SPT=32872 DPT=9 SEQ=4220216498 ACK=0 WINDOW=65495 SYN ",
    );
  });

  it("stamps the node's local time with its offset", () => {
    expect(logTime(1796205011, 60)).toBe("02/Dec/2026:10:50:11 +0100");
    expect(logTime(1796205011, -330)).toBe("02/Dec/2026:04:20:11 -0530");
  });

  it("keeps a prefix not in pve-firewall's form whole, as vmid 0, level 6, chain '-'", () => {
    expect(pvefwLine({ ...SYN, "oob.prefix": "someone else's: " }, 0)).toMatch(
      /^0 6 - 02\/Dec\/2026:09:50:11 \+0000 someone else's: IN=/,
    );
    expect(pvefwLine({ ...SYN, "oob.prefix": ":101:9:chain: x" }, 0)).toMatch(/^0 6 - \S+ \S+ :101:9:chain: x/);
    expect(pvefwLine({ ...SYN, "oob.prefix": logPrefix(0, 4, "GROUP-web-IN", "") }, 0)).toMatch(/^0 4 GROUP-web-IN \S+ \S+ IN=/);
  });

  it("prints UDP, ICMP echo and IPv6 as pvefw-logger does", () => {
    const base = { "oob.prefix": logPrefix(7, 6, "tap7i0-OUT", "ACCEPT: "), "oob.time.sec": 1796205011, "oob.in": "tap7i0" };
    const udp = {
      ...base,
      "oob.family": 2,
      "ip.protocol": 17,
      src_ip: "10.0.0.7",
      dest_ip: "10.0.0.1",
      src_port: 5353,
      dest_port: 53,
      "udp.len": 40,
    };
    expect(pvefwLine(udp, 0)).toMatch(/ PROTO=UDP SPT=5353 DPT=53 LEN=40$/);
    const ping = {
      ...base,
      "oob.family": 2,
      "ip.protocol": 1,
      src_ip: "10.0.0.7",
      dest_ip: "10.0.0.1",
      "icmp.type": 8,
      "icmp.echoid": 3,
      "icmp.echoseq": 1,
    };
    expect(pvefwLine(ping, 0)).toMatch(/ PROTO=ICMP TYPE=8 CODE=0 ID=3 SEQ=1 $/);
    const v6 = {
      ...base,
      "oob.family": 10,
      src_ip: "fd00::7",
      dest_ip: "fd00::1",
      "ip6.payloadlen": 32,
      "ip6.hoplimit": 64,
      "ip6.nexthdr": 6,
      dest_port: 22,
      "tcp.ack": 1,
    };
    expect(pvefwLine(v6, 0)).toMatch(
      /SRC=fd00::7 DST=fd00::1 LEN=32 TC=0 FLOWLBL=0 HOPLIMIT=64 PROTO=TCP SPT=0 DPT=22 SEQ=0 ACK=0 WINDOW=0 ACK $/,
    );
  });
});

describe("the API's page of the log (dump_logfile)", () => {
  const lines = Array.from({ length: 120 }, (_, i) => `${i % 2 ? 101 : 0} 6 chain ${logTime(1796205000 + i, 0)} line ${i + 1}`);

  it("the first 50 by default, numbered from 1; start and limit page on; limit 0 gives the rest", () => {
    const first = dumpLog(lines, {});
    expect(first.total).toBe(120);
    expect(first.data).toHaveLength(50);
    expect(first.data[0]).toEqual({ n: 1, t: lines[0] });
    const page = dumpLog(lines, { start: 100, limit: 10 });
    expect(page.data.map((l) => l.n)).toEqual([101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
    expect(dumpLog(lines, { start: 110, limit: 0 }).data).toHaveLength(10);
  });

  it("a guest's lines only, counted among themselves; since and until by the lines' stamps", () => {
    const guest = dumpLog(lines, { limit: 0 }, (l) => l.startsWith("101 "));
    expect(guest.total).toBe(60);
    expect(guest.data.every((l) => l.t.startsWith("101 "))).toBe(true);
    const window = dumpLog(lines, { since: 1796205010, until: 1796205019, limit: 0 });
    expect(window.data.map((l) => l.t.split(" ").pop())).toEqual(["11", "12", "13", "14", "15", "16", "17", "18", "19", "20"]);
  });

  it("nothing matching is one line, 'no content'", () => {
    expect(dumpLog([], {})).toEqual({ total: 1, data: [{ n: 1, t: "no content" }] });
    expect(dumpLog(lines, {}, () => false)).toEqual({ total: 1, data: [{ n: 1, t: "no content" }] });
  });

  it("reads back every stamp it writes, whatever the offset", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), fc.integer({ min: -720, max: 840 }), (sec, off) => {
        expect(lineTime(`1 6 c ${logTime(sec, off)} x`)).toBe(sec);
      }),
    );
  });
});
