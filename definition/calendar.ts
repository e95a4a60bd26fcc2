// Proxmox's calendar events (the `schedule` of backup jobs, systemd-like), shared by validation and the lab:
// `[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOURS:]MINUTES[:SECONDS]` or a word (hourly, daily, weekly, monthly, yearly, …),
// every component a value, a range `a..b`, a repetition `start/step` or `*/step`, or a comma list; a time without
// `:` is minutes. Parsing and the next time an event fires (`next-run`), in local time. Pure.

export interface CalendarEvent {
  /** 0 = Sunday … 6 = Saturday; undefined = any day. */
  weekdays?: Set<number>;
  years?: Set<number>;
  months?: Set<number>;
  days?: Set<number>;
  hours: Set<number>;
  minutes: Set<number>;
  seconds: Set<number>;
}

const WORDS: Record<string, string> = {
  minutely: "*-*-* *:*:00",
  hourly: "*-*-* *:00:00",
  daily: "*-*-* 00:00:00",
  weekly: "mon *-*-* 00:00:00",
  monthly: "*-*-01 00:00:00",
  yearly: "*-01-01 00:00:00",
  annually: "*-01-01 00:00:00",
  quarterly: "*-01,04,07,10-01 00:00:00",
  semiannually: "*-01,07-01 00:00:00",
};
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function range(min: number, max: number): Set<number> {
  const s = new Set<number>();
  for (let i = min; i <= max; i++) s.add(i);
  return s;
}

/** One component: `*`, `5`, `1..5`, `*\/15`, `0/20`, lists of those. */
function component(text: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid component '${part}'`);
    const from = m[1] === "*" ? min : Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : m[1] === "*" || m[3] !== undefined ? max : from;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (from < min || to > max || from > to || step < 1) throw new Error(`value out of range in '${part}'`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function weekdays(text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [a, b] = part.split("..").map((d) => DAYS.indexOf(d.slice(0, 3).toLowerCase()));
    if (a === undefined || a < 0 || (b !== undefined && b < 0)) throw new Error(`invalid weekday '${part}'`);
    if (b === undefined) out.add(a);
    else
      for (let d = a; ; d = (d + 1) % 7) {
        out.add(d);
        if (d === b) break;
      }
  }
  return out;
}

/** Parses an event; throws "unable to parse calendar event '…'" as Proxmox does when it cannot. */
export function parseCalendarEvent(event: string): CalendarEvent {
  try {
    const tokens = (WORDS[event.trim().toLowerCase()] ?? event.trim()).split(/\s+/).filter(Boolean);
    if (tokens.length === 0 || tokens.length > 3) throw new Error("wrong number of parts");
    const out: CalendarEvent = { hours: range(0, 23), minutes: range(0, 59), seconds: new Set([0]) };
    let t = 0;
    if (/^[a-z]/i.test(tokens[0]!)) out.weekdays = weekdays(tokens[t++]!);
    if (tokens[t]?.includes("-")) {
      const parts = tokens[t++]!.split("-");
      if (parts.length === 3) out.years = parts[0] === "*" ? undefined : component(parts.shift()!, 1970, 9999);
      if (parts.length === 3) parts.shift();
      if (parts.length !== 2) throw new Error("invalid date");
      if (parts[0] !== "*") out.months = component(parts[0]!, 1, 12);
      if (parts[1] !== "*") out.days = component(parts[1]!, 1, 31);
    }
    const time = tokens[t++];
    if (tokens[t] !== undefined) throw new Error("trailing input");
    if (time !== undefined) {
      const parts = time.split(":");
      if (parts.length > 3) throw new Error("invalid time");
      if (parts.length === 1) out.minutes = component(parts[0]!, 0, 59);
      else {
        out.hours = component(parts[0]!, 0, 23);
        out.minutes = component(parts[1]!, 0, 59);
        if (parts[2] !== undefined) out.seconds = component(parts[2], 0, 59);
      }
    } else if (out.weekdays || out.days || out.months) {
      out.hours = new Set([0]);
      out.minutes = new Set([0]);
    }
    return out;
  } catch (e) {
    throw new Error(`unable to parse calendar event '${event}': ${(e as Error).message}`);
  }
}

/** The first time after `after` (epoch seconds) the event fires, in local time; undefined within ten years none. */
export function nextRun(ev: CalendarEvent, after: number): number | undefined {
  const start = new Date((after + 1) * 1000);
  const day = new Date(start.getFullYear(), start.getMonth(), start.getDate());
  const hours = [...ev.hours].sort((a, b) => a - b);
  const minutes = [...ev.minutes].sort((a, b) => a - b);
  const seconds = [...ev.seconds].sort((a, b) => a - b);
  for (let i = 0; i < 3660; i++, day.setDate(day.getDate() + 1)) {
    if (ev.weekdays && !ev.weekdays.has(day.getDay())) continue;
    if (ev.years && !ev.years.has(day.getFullYear())) continue;
    if (ev.months && !ev.months.has(day.getMonth() + 1)) continue;
    if (ev.days && !ev.days.has(day.getDate())) continue;
    for (const h of hours)
      for (const m of minutes)
        for (const s of seconds) {
          const t = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, m, s).getTime() / 1000;
          if (t > after) return t;
        }
  }
  return undefined;
}
