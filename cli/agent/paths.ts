// Path filters of the deploy settings (gitHub.paths): globs over repository paths, `!` to exclude; the last pattern
// that matches a file decides, as in GitHub's path filters. No positive pattern means every path counts.

/** A glob as a regular expression: `**` any number of directories, `*` and `?` within one path segment. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      const slash = glob[i + 2] === "/";
      re += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Whether `file` (relative to the repository's root) passes the filter. */
export function pathMatches(patterns: readonly string[], file: string): boolean {
  const positive = patterns.filter((p) => !p.startsWith("!"));
  let matched = positive.length === 0;
  for (const p of patterns) {
    const negate = p.startsWith("!");
    if (globToRegExp(negate ? p.slice(1) : p).test(file)) matched = !negate;
  }
  return matched;
}

/** Whether any of `files` passes; the filter's patterns are relative to `repoDir` (the project's directory). */
export function anyPathMatches(patterns: readonly string[], files: readonly string[], repoDir = "."): boolean {
  const prefix = repoDir.replace(/^\.\/?/, "").replace(/\/?$/, "/");
  return files.some((f) => {
    const rel = prefix === "/" ? f : f.startsWith(prefix) ? f.slice(prefix.length) : undefined;
    return rel !== undefined && pathMatches(patterns, rel);
  });
}
