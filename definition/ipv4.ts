// IPv4 arithmetic on 32-bit unsigned integers.
export function parseIp(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export interface Cidr {
  address: number;
  prefix: number;
  network: number;
  broadcast: number;
}

export function parseCidr(s: string): Cidr | undefined {
  const [ip, len, ...rest] = s.split("/");
  if (rest.length > 0 || ip === undefined || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const address = parseIp(ip);
  const prefix = Number(len);
  if (address === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  return { address, prefix, network, broadcast: network + size - 1 };
}

export function contains(net: Cidr, ip: number): boolean {
  return ip >= net.network && ip <= net.broadcast;
}

/** Usable host addresses (not the network or broadcast address, except in /31 and /32). */
export function isHostAddress(net: Cidr, ip: number): boolean {
  if (!contains(net, ip)) return false;
  if (net.prefix >= 31) return true;
  return ip !== net.network && ip !== net.broadcast;
}

export function parseRange(s: string): { first: number; last: number } | undefined {
  const [a, b, ...rest] = s.split("-");
  if (rest.length > 0 || a === undefined || b === undefined) return undefined;
  const first = parseIp(a);
  const last = parseIp(b);
  if (first === undefined || last === undefined) return undefined;
  return { first, last };
}
