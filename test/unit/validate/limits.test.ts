// Bad definitions, time limits: timeouts per machine, health checks' bounds and their overall limit.
import { describe } from "vitest";
import { type Case, runCases } from "./support";

const check = (extra: Record<string, unknown> = {}) => ({ name: "http", command: "curl -fsS http://127.0.0.1/", ...extra });

const cases: Case[] = [
  {
    name: "a timeout for a step that does not exist",
    mutate: (d) => (d.guests[0].timeouts = { dockre: 600 }),
    expect: [{ path: "guests[0].timeouts.dockre", message: "unknown field 'dockre'" }],
  },
  {
    name: "a timeout of zero seconds",
    mutate: (d) => (d.guests[0].timeouts = { docker: 0 }),
    expect: [{ path: "guests[0].timeouts.docker", message: "Too small: expected number to be >0" }],
  },
  {
    name: "a timeout longer than a week",
    mutate: (d) => (d.templates[1].timeouts = { docker: 10_000_000 }),
    expect: [{ path: "templates[1].timeouts.docker", message: "at most 604800 seconds (a week)" }],
  },
  {
    name: "a timeout that is not whole seconds",
    mutate: (d) => (d.guests[0].timeouts = { portainer: 1.5 }),
    expect: [{ path: "guests[0].timeouts.portainer", message: "expected a whole number", fix: "write a whole number" }],
  },
  {
    name: "health check retries without bound",
    mutate: (d) => (d.guests[0].healthChecks = [check({ retries: 1_000_000 })]),
    expect: [{ path: "guests[0].healthChecks[0].retries", message: "Too big: expected number to be <=100" }],
  },
  {
    name: "health check interval of a day",
    mutate: (d) => (d.guests[0].healthChecks = [check({ interval: 86_400 })]),
    expect: [{ path: "guests[0].healthChecks[0].interval", message: "Too big: expected number to be <=3600" }],
  },
  {
    name: "health check retries that cannot all run within the overall limit",
    mutate: (d) => {
      d.guests[0].healthChecks = [check({ retries: 31, interval: 20 }), check({ name: "db", retries: 4, interval: 10 })];
      d.guests[0].timeouts = { healthChecks: 600 };
    },
    expect: [
      {
        path: "guests[0].healthChecks",
        severity: "warning",
        message:
          "the health checks of 'portainer' wait at least 630 s between their retries, over their overall limit of 600 s: " +
          "the last retries would never run",
        fix: "raise guests[0].timeouts.healthChecks to at least 630, or lower retries or interval",
      },
    ],
  },
];

describe("bad definitions: time limits", () => runCases(cases, 7));
