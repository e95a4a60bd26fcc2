// The create of a step on a guest that ran before the stack (`phoenix adopt`): its check first, its script only when
// the guest needs it.
import { openRunLog } from "./log";
import { type ScriptTimeout, runScript } from "./run-script";
import { containerState } from "./container-state";
import type { Session } from "./ssh";

// Closure-serialized with the script provider: no top-level imports of packages or builtins here.

/** What checkFirst needs of a step's inputs. */
export interface CheckFirstInputs {
  params?: Record<string, string>;
  secrets?: Record<string, string>;
  inContainer?: number;
  log?: { stack: string; resource: string };
  timeout?: ScriptTimeout;
}

/**
 * An adopted guest's step: its check first. The state (made by `state`) when the guest already has what the step
 * makes, or is a frozen template (whose features were built into it); undefined when the script must run: the check
 * fails, there is no check, or the step takes secrets its check cannot see.
 */
export async function checkFirst<T>(
  s: Session,
  news: CheckFirstInputs,
  scripts: { checkScript?: string },
  state: (check: { checkOutput: string; checkExitCode: number } | undefined) => T,
): Promise<T | undefined> {
  const log = openRunLog(news.log);
  const target = await containerState(s, news.inContainer);
  if (target === "template") {
    log.note(
      `==== adopt: CT ${news.inContainer} is a frozen template: what this step makes was built into it; recorded as done ====`,
    );
    return state(undefined);
  }
  if (target === "absent") return undefined;
  if (!scripts.checkScript) {
    log.note("==== adopt: this step has no check script, so its (idempotent) script runs ====");
    return undefined;
  }
  if (Object.keys(news.secrets ?? {}).length > 0) {
    log.note("==== adopt: this step takes secrets, which its check cannot see, so its (idempotent) script runs ====");
    return undefined;
  }
  const r = await runScript(s, scripts.checkScript, {
    env: news.params ?? {},
    log,
    title: "adopt: check first",
    allowFailure: true,
    inContainer: news.inContainer,
    ...(news.timeout ? { timeout: news.timeout } : {}),
  });
  if (r.code !== 0) {
    log.note("==== adopt: not converged for these settings: the script runs ====");
    return undefined;
  }
  log.note("==== adopt: converged for these settings: the script does not run ====");
  return state({ checkOutput: r.stdout, checkExitCode: r.code });
}
