// The agent's git: a bare mirror of the remote under the state directory, fetched on each poll or webhook; files read
// straight from commits; a clean, detached work tree per run (removed afterwards).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

export class Git {
  /** git commands that write the mirror run one at a time (fetch, worktree add/remove). */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly remote: string,
    readonly dir: string,
  ) {}

  private async git(args: string[], o: { cwd?: string } = {}): Promise<string> {
    const { stdout } = await exec("git", args, {
      cwd: o.cwd ?? this.dir,
      maxBuffer: 64 * 1024 * 1024,
      // Never prompt: an agent has no terminal.
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
    });
    return stdout;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.lock.then(f, f);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /** Makes the mirror when missing, then fetches every branch (pruning deleted ones). */
  fetch(): Promise<void> {
    return this.serial(async () => {
      if (!existsSync(this.dir)) {
        mkdirSync(dirname(this.dir), { recursive: true });
        await exec("git", ["init", "--bare", "--quiet", this.dir]);
      }
      await this.git(["fetch", "--quiet", "--prune", "--no-tags", this.remote, "+refs/heads/*:refs/heads/*"]);
    });
  }

  /** branch → commit. */
  async heads(): Promise<Map<string, string>> {
    const out = await this.git(["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"]);
    return new Map(
      out
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ") as [string, string]),
    );
  }

  async hasCommit(sha: string): Promise<boolean> {
    return this.git(["cat-file", "-e", `${sha}^{commit}`]).then(
      () => true,
      () => false,
    );
  }

  async resolve(sha: string): Promise<string> {
    return (await this.git(["rev-parse", "--verify", `${sha}^{commit}`])).trim();
  }

  /** A file's text at a commit; undefined when the commit has no such file. */
  async show(sha: string, path: string): Promise<string | undefined> {
    return this.git(["show", `${sha}:${path.replace(/^\.\//, "")}`]).then(
      (s) => s,
      () => undefined,
    );
  }

  /** Names of the files in `dir` at a commit. */
  async list(sha: string, dir: string): Promise<string[]> {
    const d = dir.replace(/^\.\/?/, "").replace(/\/?$/, "/");
    const out = await this.git(["ls-tree", "--name-only", sha, ...(d === "/" ? [] : [d])]);
    return out
      .split("\n")
      .filter(Boolean)
      .map((p) => (d === "/" ? p : p.slice(d.length)));
  }

  /** Paths that differ between two commits (both ways: a revert counts). */
  async changed(base: string, head: string): Promise<string[]> {
    const out = await this.git(["diff", "--name-only", "--no-renames", base, head]);
    return out.split("\n").filter(Boolean);
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    return this.git(["merge-base", a, b]).then(
      (s) => s.trim() || undefined,
      () => undefined,
    );
  }

  async isAncestor(a: string, b: string): Promise<boolean> {
    return this.git(["merge-base", "--is-ancestor", a, b]).then(
      () => true,
      () => false,
    );
  }

  /** A clean work tree of `sha` at `path` (detached; nothing from earlier runs). */
  checkout(sha: string, path: string): Promise<void> {
    return this.serial(async () => {
      rmSync(path, { recursive: true, force: true });
      await this.git(["worktree", "prune"]);
      await this.git(["worktree", "add", "--quiet", "--detach", "--force", path, sha]);
    });
  }

  removeWorkTree(path: string): Promise<void> {
    return this.serial(async () => {
      await this.git(["worktree", "remove", "--force", path]).catch(() => undefined);
      rmSync(path, { recursive: true, force: true });
      await this.git(["worktree", "prune"]);
    });
  }
}
