/** Quote a string as one POSIX shell word. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function isShellName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

export function assertShellNames(names: string[], what: string): void {
  const bad = names.filter((n) => !isShellName(n));
  if (bad.length > 0) throw new Error(`${what} must be shell variable names ([A-Za-z_][A-Za-z0-9_]*): ${bad.join(", ")}`);
}
