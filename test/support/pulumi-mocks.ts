// Pulumi unit-test mocks that also record each registration's parent, dependencies and provider,
// so tests can assert the resource graph (the stock mocks only see types, names and inputs).
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  urn: string;
  parent: string;
  dependencies: string[];
  provider: string;
  custom: boolean;
  inputs: Record<string, any>;
  /** URNs whose replacement replaces this resource too. */
  replaceWith: string[];
  /** Input name → URNs of the resources its value came from. */
  propertyDependencies: Record<string, string[]>;
  deleteBeforeReplace: boolean;
  /** The replacement trigger's value, if any. */
  replacementTrigger?: unknown;
  /** Parent URNs of the resource's aliases (where it lived before a move). */
  aliasParents: string[];
  protect: boolean;
  /** The `import` option's id ("" when none). */
  importId: string;
  ignoreChanges: string[];
  /** The URN of the resource whose deletion deletes this one (deletedWith), or "". */
  deletedWith: string;
  /** Outputs the resource asks the engine to keep secret (encrypted in state). */
  additionalSecretOutputs: string[];
}

function propertyDependencies(req: any): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((v: any, k: string) => (out[k] = v.getUrnsList()));
  return out;
}

/** Records every registration; `preview` false runs the program as an up does (pulumi.runtime.isDryRun() false). */
export async function installRecordingMocks(stack = "test", preview = true): Promise<Registered[]> {
  const records: Registered[] = [];
  const mocks: pulumi.runtime.Mocks = {
    newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
    call: (args) => args.inputs,
  };
  await pulumi.runtime.setMocks(mocks, "phoenix", stack, preview);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: new (mocks: pulumi.runtime.Mocks) => any };
  const settings = require("@pulumi/pulumi/runtime/settings");
  const rpc = require("@pulumi/pulumi/runtime/rpc");
  /* eslint-enable @typescript-eslint/no-require-imports */
  class RecordingMonitor extends MockMonitor {
    async registerResource(req: any, callback: any) {
      const type = req.getType();
      const name = req.getName();
      records.push({
        type,
        name,
        urn: (this as any).newUrn(req.getParent(), type, name),
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        provider: req.getProvider(),
        custom: req.getCustom(),
        inputs: rpc.deserializeProperties(req.getObject()),
        replaceWith: req.getReplaceWithList(),
        propertyDependencies: propertyDependencies(req),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        aliasParents: req
          .getAliasesList()
          .flatMap((a: any) => (a.hasSpec() && a.getSpec().getParenturn() ? [a.getSpec().getParenturn()] : [])),
        ...(req.hasReplacementTrigger() ? { replacementTrigger: req.getReplacementTrigger().toJavaScript() } : {}),
        protect: req.getProtect(),
        importId: req.getImportid(),
        deletedWith: req.getDeletedwith(),
        ignoreChanges: req.getIgnorechangesList(),
      });
      return super.registerResource(req, callback);
    }
  }
  settings.setMockOptions(new RecordingMonitor(mocks), "phoenix", stack, preview);
  // setMockOptions forgets what setMocks said the mock monitor supports: replaceWith, alias specs, deletedWith.
  const store = require("@pulumi/pulumi/runtime/state").getStore(); // eslint-disable-line @typescript-eslint/no-require-imports
  store.supportsReplaceWith = true;
  store.supportsAliasSpecs = true;
  store.supportsDeletedWith = true;
  return records;
}

/** Resolve an Output in a test. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise<T>((resolve) => o.apply((v) => resolve(v)));
}

/** Wait until registrations settle (resources register asynchronously). */
export async function settle(records: Registered[], quietMs = 50): Promise<void> {
  let last = -1;
  while (records.length !== last) {
    last = records.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}
