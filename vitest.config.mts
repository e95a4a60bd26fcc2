// Three projects, run one after the other: unit (no root, no lab, no toolchain: `npm run test:unit`), host (real
// services on this machine: sshd, zfs-fuse, LXC, QEMU, the registry; root), e2e (the real Pulumi engine and provider
// against a lab). Host files drive one machine (the zfs-fuse daemon, bridges), so they run one at a time; so does
// each e2e run, and `npm test` (scripts/test-tiers.ts) runs two e2e runs side by side, each with a lab of its own.
import { defineConfig } from "vitest/config";

const project = (name: string, groupOrder: number, fileParallelism: boolean) => ({
  extends: true as const,
  test: { name, include: [`test/${name}/**/*.test.ts`], fileParallelism, sequence: { groupOrder } },
});

export default defineConfig({
  test: {
    testTimeout: 30_000,
    projects: [project("unit", 0, true), project("host", 1, false), project("e2e", 2, false)],
  },
});
