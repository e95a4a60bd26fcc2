// pve-firewall's log (/var/log/pve-firewall.log) as the lab keeps it: a packet the ruleset logged (the NFLOG prefix
// `:vmid:level:chain: message`, as pve-firewall writes it) turned into the line pvefw-logger writes, and the API's
// page of those lines (pve-common's dump_logfile: `start`, `limit`, `since`, `until`, lines numbered from 1, and
// "no content" for none). Pure: the packet comes as ulogd2's JSON record (host/firewall-log.ts collects them).

/** One packet as ulogd2's JSON output writes it (NFLOG, BASE, IFINDEX, IP2STR, HWHDR): the fields used here. */
export type UlogdRecord = Record<string, string | number | undefined>;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");

/** strftime("%d/%b/%Y:%H:%M:%S %z") of the node's local time, as pvefw-logger stamps a line. */
export function logTime(epochSec: number, offsetMin = -new Date(epochSec * 1000).getTimezoneOffset()): string {
  const d = new Date((epochSec + offsetMin * 60) * 1000);
  const zone = `${offsetMin < 0 ? "-" : "+"}${pad(Math.trunc(offsetMin / 60))}${pad(offsetMin % 60)}`;
  return (
    `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${zone}`
  );
}

/** The epoch seconds of a line's stamp (its 4th and 5th words), as dump_fw_logfile reads them for since/until. */
export function lineTime(line: string): number | undefined {
  const w = line.split(" ");
  const m = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})$/.exec(w[3] ?? "");
  const z = /^([+-])(\d{2})(\d{2})$/.exec(w[4] ?? "");
  if (!m || !z || !MONTHS.includes(m[2]!)) return undefined;
  const utc = Date.UTC(+m[3]!, MONTHS.indexOf(m[2]!), +m[1]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
  return utc - (z[1] === "-" ? -1 : 1) * (+z[2]! * 3600 + +z[3]! * 60);
}

/** The NFLOG prefix pve-firewall gives a log rule, `:vmid:level:chain: message` (get_log_rule_base). */
export function logPrefix(vmid: number, level: number, chain: string, message: string): string {
  return `:${vmid}:${level}:${chain}: ${message}`;
}

/** syslog's numbers of pve-firewall's log levels; `nolog` (and anything else) logs nothing. */
export const LOG_LEVELS: Record<string, number> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

const num = (r: UlogdRecord, k: string) => Number(r[k] ?? 0);
const hex2 = (n: number) => `0x${n.toString(16).toUpperCase().padStart(2, "0")}`;

function transport(r: UlogdRecord, proto: number, v6: boolean): string {
  if (proto === 6) {
    const flags = ["urg", "ack", "psh", "rst", "syn", "fin"].filter((f) => num(r, `tcp.${f}`)).map((f) => `${f.toUpperCase()} `);
    return (
      `PROTO=TCP SPT=${num(r, "src_port")} DPT=${num(r, "dest_port")} SEQ=${num(r, "tcp.seq")} ACK=${num(r, "tcp.ackseq")} ` +
      `WINDOW=${num(r, "tcp.window")} ${flags.join("")}${num(r, "tcp.urg") ? `URGP=${num(r, "tcp.urgp")} ` : ""}`
    );
  }
  if (proto === 17) return `PROTO=UDP SPT=${num(r, "src_port")} DPT=${num(r, "dest_port")} LEN=${num(r, "udp.len")}`;
  const icmp = v6 ? "icmpv6" : "icmp";
  if ((!v6 && proto === 1) || (v6 && proto === 58)) {
    const type = num(r, `${icmp}.type`);
    const echo = v6 ? type === 128 || type === 129 : type === 0 || type === 8;
    return (
      `PROTO=${v6 ? "ICMPV6" : "ICMP"} TYPE=${type} CODE=${num(r, `${icmp}.code`)} ` +
      (echo ? `ID=${num(r, `${icmp}.echoid`)} SEQ=${num(r, `${icmp}.echoseq`)} ` : "")
    );
  }
  return `PROTO=${proto} `;
}

/**
 * The line pvefw-logger writes for one logged packet: `vmid level chain time message` then the packet as the kernel's
 * LOG target prints it (IN=, OUT=, MAC=, SRC=, DST=, LEN=, …, PROTO= and its ports). A prefix not in pve-firewall's
 * form is kept whole, with vmid 0, level 6 and chain `-`, as pvefw-logger does. The lab's packet marks (its own port
 * numbers, not pve-firewall's) are left out.
 */
export function pvefwLine(r: UlogdRecord, offsetMin?: number): string {
  const raw = String(r["oob.prefix"] ?? "");
  const m = /^:(\d*):([0-7]):([^: ]{1,28}): (.*)$/s.exec(raw);
  const [vmid, level, chain, message] = m ? [Number(m[1] || 0), m[2], m[3], m[4]] : [0, "6", "-", raw];
  const sec = num(r, "oob.time.sec") || Math.floor(Date.now() / 1000);
  let out = `${vmid} ${level} ${chain} ${logTime(sec, offsetMin)} ${message}`;
  if (r["oob.in"]) out += `IN=${r["oob.in"]} `;
  if (r["oob.out"]) out += `OUT=${r["oob.out"]} `;
  if (r["mac.str"]) out += `MAC=${r["mac.str"]} `;
  const family = num(r, "oob.family");
  const v6 = family === 10 || r["src_ip"]?.toString().includes(":") === true;
  if (r["src_ip"] === undefined) return out;
  out += `SRC=${r["src_ip"]} DST=${r["dest_ip"]} `;
  if (v6) {
    out += `LEN=${num(r, "ip6.payloadlen")} TC=${num(r, "ip6.priority")} FLOWLBL=${num(r, "ip6.flowlabel")} HOPLIMIT=${num(r, "ip6.hoplimit")} `;
    return out + transport(r, num(r, "ip6.nexthdr"), true);
  }
  const tos = num(r, "ip.tos");
  out += `LEN=${num(r, "ip.totlen")} TOS=${hex2(tos & 0x1e)} PREC=${hex2(tos & 0xe0)} TTL=${num(r, "ip.ttl")} ID=${num(r, "ip.id")} `;
  const off = num(r, "ip.fragoff");
  if (off & 0x1fff) out += `FRAG=${off & 0x1fff} `;
  if (off & 0x4000) out += "DF ";
  if (off & 0x2000) out += "MF ";
  return out + transport(r, num(r, "ip.protocol"), false);
}

export interface LogPage {
  start?: number;
  limit?: number;
  since?: number;
  until?: number;
}

/**
 * The API's page of a log (pve-common's dump_logfile_by_filehandle): the lines `keep` accepts and since/until allow,
 * from the `start`th (0-based) on, at most `limit` of them (50 by default, 0 for all), each numbered from 1; `total`
 * is how many matched. No matching line gives one line, "no content".
 */
export function dumpLog(
  lines: string[],
  page: LogPage,
  keep: (line: string) => boolean = () => true,
): { total: number; data: { n: number; t: string }[] } {
  const start = Math.max(0, page.start ?? 0);
  let limit = page.limit ?? 50;
  const all = limit === 0;
  const data: { n: number; t: string }[] = [];
  let count = 0;
  for (const line of lines) {
    if (!keep(line)) continue;
    if (page.since || page.until) {
      const t = lineTime(line) ?? 0; // an unreadable stamp is 0, as str2time's undef compares
      if (page.since && t < page.since) continue;
      if (page.until && t > page.until) continue;
    }
    if (count++ < start) continue;
    if (!all) {
      if (limit <= 0) continue;
      limit--;
    }
    data.push({ n: count, t: line });
  }
  if (count === 0) return { total: 1, data: [{ n: 1, t: "no content" }] };
  return { total: count, data };
}
