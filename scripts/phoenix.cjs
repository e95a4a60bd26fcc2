#!/usr/bin/env node
// Launcher for the `phoenix` command (package.json "bin"): runs the TypeScript CLI through tsx, with the lab's
// verb (`phoenix lab …`, served by lab/cli.ts) wired in here so the product never imports the lab.
require("tsx/cjs");
// Loaded only when asked for: the lab is large and the other verbs never need it.
const lab = (args, io) => require("../lab/cli.ts").labCommand(args, io);
require("../cli/main.ts")
  .main(process.argv.slice(2), undefined, { lab })
  .then((code) => {
    process.exitCode = code;
  });
