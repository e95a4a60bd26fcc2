#!/usr/bin/env node
// Launcher for the `phoenix` command (package.json "bin"): runs the TypeScript CLI through tsx.
require("tsx/cjs");
require("../stacks/cli.ts")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
