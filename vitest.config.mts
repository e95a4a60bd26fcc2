// Three projects, run one after the other: unit (no root, no lab, no toolchain: `npm run test:unit`), host (real
// services on this machine: sshd, zfs-fuse, LXC, QEMU, the registry; root), e2e (the real Pulumi engine and provider
// against a lab). Host and e2e files drive one machine (the zfs-fuse daemon, bridges), so they run one at a time.
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
