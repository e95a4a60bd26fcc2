import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // Several suites drive one host: the zfs-fuse daemon, sshd, bridges. Run files one at a time.
    fileParallelism: false,
  },
});
