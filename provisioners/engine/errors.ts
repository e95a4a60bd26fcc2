/** Base of the engine's errors. */
export class EngineError extends Error {
  constructor(name: string, message: string) {
    super(message);
    // Pulumi's closure serializer turns super(message) into Error.call(this, message), which sets nothing on this.
    this.message = message;
    this.name = name;
    if (!this.stack?.includes(message)) Error.captureStackTrace?.(this, this.constructor);
  }
}
