// Bad definitions, the HTTPS gateway: its guest, network.domain, exposed names, DHCP addresses, apps' ports.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe } from "vitest";
import { type Case, PROJECT_DIR, lxc, runCases, vm } from "./support";

mkdirSync(join(PROJECT_DIR, "apps", "web"), { recursive: true });
writeFileSync(
  join(PROJECT_DIR, "apps", "web", "compose.yaml"),
  'services:\n  web:\n    image: nginx:1.27-alpine\n    ports: ["8080:80", "127.0.0.1:9000:9000"]\n',
);
const app = (extra: Record<string, unknown> = {}) => ({
  name: "web",
  compose: "apps/web/compose.yaml",
  guests: ["portainer"],
  ...extra,
});

const cases: Case[] = [
  {
    name: "a gateway with services from guests and an app: nothing to say",
    mutate: (d) => {
      d.gateway = { guest: "data", trustInGuests: true };
      d.guests[0].expose = [{ name: "portainer", port: 9443, scheme: "https" }];
      d.apps = [app({ expose: [{ name: "web", port: 8080 }] })];
    },
    expect: [],
  },
  {
    name: "a gateway without network.domain",
    mutate: (d) => {
      delete d.network.domain;
      d.gateway = { guest: "data" };
    },
    expect: [{ path: "gateway", message: "the gateway names each service <name>.<domain>, but network.domain is not set" }],
  },
  {
    name: "a gateway in a guest that does not exist",
    mutate: (d) => (d.gateway = { guest: "nowhere" }),
    expect: [{ path: "gateway.guest", message: "no guest is named 'nowhere'", fix: "name one of the guests: portainer, data" }],
  },
  {
    name: "a gateway in a golden template",
    mutate: (d) => (d.gateway = { guest: "docker-golden" }),
    expect: [{ path: "gateway.guest", message: "'docker-golden' is a golden template; the gateway runs in a guest" }],
  },
  {
    name: "a gateway in a guest on DHCP",
    mutate: (d) => {
      d.guests.push(lxc(230, "edge", { network: [{ ip: "dhcp" }] }));
      d.gateway = { guest: "edge" };
    },
    expect: [
      {
        path: "gateway.guest",
        message: "guest 'edge' takes its address by DHCP: the services' names must point at a known address",
      },
    ],
  },
  {
    name: "a gateway in a VM without the key to provision it",
    mutate: (d) => {
      d.guests.push(vm(300, "edge-vm"));
      d.gateway = { guest: "edge-vm" };
    },
    expect: [
      {
        path: "gateway.guest",
        message: "guest 'edge-vm' is a VM: Caddy is installed in it over SSH, with a key the definition does not give",
      },
    ],
  },
  {
    name: "two guests exposing the same name",
    mutate: (d) => {
      d.gateway = { guest: "data" };
      d.guests[0].expose = [{ name: "web", port: 9443, scheme: "https" }];
      d.guests[1].expose = [{ name: "web", port: 80 }];
    },
    expect: [
      {
        path: "guests[1].expose[0].name",
        message: "'web' is exposed by guests[0].expose[0] (guest 'portainer') too: each name is one https://<name>.<domain>",
      },
    ],
  },
  {
    name: "an app exposing a name a guest exposes",
    mutate: (d) => {
      d.gateway = { guest: "data" };
      d.guests[0].expose = [{ name: "web", port: 9443 }];
      d.apps = [app({ expose: [{ name: "web", port: 8080 }] })];
    },
    expect: [
      {
        path: "apps[0].expose[0].name",
        message: "'web' is exposed by guests[0].expose[0] (guest 'portainer') too: each name is one https://<name>.<domain>",
      },
    ],
  },
  {
    name: "an app on two guests exposing a service",
    mutate: (d) => {
      d.gateway = { guest: "data" };
      d.guests.push({ ...lxc(240, "docker2", { template: "docker-golden" }) });
      d.apps = [app({ guests: ["portainer", "docker2"], expose: [{ name: "web", port: 8080 }] })];
    },
    expect: [
      {
        path: "apps[0].expose",
        message: "app 'web' runs on 2 guests (portainer, docker2), and each exposed name is one route to one guest",
        fix: "run the app on one guest, or expose it from each guest under its own name (guests[].expose with distinct names)",
      },
    ],
  },
  {
    name: "an app exposing a port its compose file does not publish",
    mutate: (d) => {
      d.gateway = { guest: "data" };
      d.apps = [app({ expose: [{ name: "web", port: 8081 }] })];
    },
    expect: [
      {
        path: "apps[0].expose[0].port",
        message: "apps/web/compose.yaml publishes no TCP port 8081 on all of the guest's addresses (it publishes 8080, 9000)",
      },
    ],
  },
  {
    name: "an app exposing a port published on loopback only",
    mutate: (d) => {
      d.gateway = { guest: "data" };
      d.apps = [app({ expose: [{ name: "admin", port: 9000 }] })];
    },
    expect: [
      {
        path: "apps[0].expose[0].port",
        message: "apps/web/compose.yaml publishes no TCP port 9000 on all of the guest's addresses (it publishes 8080, 9000)",
      },
    ],
  },
  {
    name: "a guest on DHCP exposing a service",
    mutate: (d) => {
      d.gateway = { guest: "data" };
      d.guests.push(lxc(230, "edge", { network: [{ ip: "dhcp" }], expose: [{ name: "edge", port: 80 }] }));
    },
    expect: [
      {
        path: "guests[2].expose",
        message: "guest 'edge' takes its address by DHCP: the gateway cannot know where to send its services' traffic",
      },
    ],
  },
  {
    name: "exposed services without a gateway",
    mutate: (d) => (d.guests[1].expose = [{ name: "files", port: 80 }]),
    expect: [
      {
        path: "guests[1].expose[0]",
        severity: "warning",
        message: "1 exposed service(s) (files) but no gateway: nothing routes them",
      },
    ],
  },
  {
    name: "an exposed name that is not a DNS label",
    mutate: (d) => {
      d.gateway = { guest: "data" };
      d.guests[1].expose = [{ name: "Files_1", port: 80 }];
    },
    expect: [
      {
        path: "guests[1].expose[0].name",
        message: "one DNS label: lower-case letters, digits and '-' (e.g. portainer)",
      },
    ],
  },
];

describe("validate: the HTTPS gateway", () => {
  runCases(cases, 14);
});
