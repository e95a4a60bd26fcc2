/**
 * A provider's outputs as the dynamic provider host can send them: it converts them with protobuf's
 * Struct.fromJavaScript, which throws on undefined, so undefined members are dropped (as JSON does).
 */
export function plainState<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
