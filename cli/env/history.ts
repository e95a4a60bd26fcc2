// What a stack's history says: its last update, and whether a refresh since then found drift (pure over the entries
// `pulumi stack history --json` prints, newest first).

export interface HistoryEntry {
  version?: number;
  kind: string;
  startTime: string;
  endTime?: string;
  result?: string;
  message?: string;
  resourceChanges?: Record<string, number>;
}

export interface StackSummary {
  lastUpdate?: { kind: string; result: string; time: string; changes: string };
  /** yes: a refresh after the last update changed the state; no: a refresh since found nothing; unknown: none ran. */
  drift: "yes" | "no" | "unknown";
  driftDetail?: string;
}

/** Counts other than `same`, as `update: 1, create: 2` ("no changes" when none). */
export function changesText(c: Record<string, number> | undefined): string {
  // "same" and "read" change nothing: a read is the program's reference to its own last deployment (and any data
  // source), done on every run, so counting it would make every refresh look like drift.
  const parts = Object.entries(c ?? {}).filter(([op, n]) => op !== "same" && op !== "read" && n > 0);
  return parts.length ? parts.map(([op, n]) => `${op}: ${n}`).join(", ") : "no changes";
}

const time = (e: HistoryEntry) => e.endTime ?? e.startTime;

/** `entries` newest first, as the CLI prints them. */
export function summarize(entries: readonly HistoryEntry[]): StackSummary {
  const sorted = [...entries].sort((a, b) => (b.version ?? 0) - (a.version ?? 0) || Date.parse(time(b)) - Date.parse(time(a)));
  const lastIdx = sorted.findIndex((e) => e.kind === "update" || e.kind === "destroy");
  const last = lastIdx >= 0 ? sorted[lastIdx] : undefined;
  const since = (lastIdx >= 0 ? sorted.slice(0, lastIdx) : sorted).filter(
    (e) => e.kind === "refresh" && e.result === "succeeded",
  );
  const drifted = since.find((e) => changesText(e.resourceChanges) !== "no changes");
  const out: StackSummary = { drift: drifted ? "yes" : since.length ? "no" : "unknown" };
  if (drifted) out.driftDetail = `refresh at ${time(drifted)}: ${changesText(drifted.resourceChanges)}`;
  if (last)
    out.lastUpdate = {
      kind: last.kind,
      result: last.result ?? "in progress",
      time: time(last),
      changes: changesText(last.resourceChanges),
    };
  return out;
}
