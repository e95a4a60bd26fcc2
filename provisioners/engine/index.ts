// For callers. Code a dynamic provider runs imports the modules themselves (see zfs-dataset.ts).
export * from "./connection";
export * from "./errors";
export * from "../../definition/hash";
export * from "./host-key";
export * from "./log";
export * from "./retry";
export * from "./run-script";
export * from "./script-provider";
export * from "./shell";
export * from "./state";
export * from "./ssh";
