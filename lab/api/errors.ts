// Errors the way Proxmox's API server reports them: an HTTP status whose reason phrase is the message's
// first line, and a JSON body {"data": null, "message": "...\n"} (plus "errors" for parameter problems).
import type { Errors } from "../pve/schema";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Errors,
    /** pveproxy's own refusals (auth_handler's 401s): the status and reason only, an empty body. */
    readonly bare = false,
  ) {
    super(message);
  }
}

/** 400 Parameter verification failed, with one message per parameter. */
export function paramError(errors: Errors): ApiError {
  return new ApiError(400, "Parameter verification failed.", errors);
}

/** What a Perl `die "...\n"` in a handler becomes: 500 with the text as reason. */
export function fail(message: string): ApiError {
  return new ApiError(500, message);
}

/** PVE::Tools::assert_if_modified: the digest a client sent is not the file's any more. */
export function modifiedConfig(): ApiError {
  return fail("detected modified configuration - file changed by other user? Try again.");
}

/** PVE::Exception raise_perm_exc: 403 "Permission check failed (...)". */
export function permissionDenied(what: string): ApiError {
  return new ApiError(403, `Permission check failed (${what})`);
}

/** A 401 from pveproxy's auth_handler: "No ticket", "Authentication failed!", an invalid CSRF token — no body. */
export function unauthorized(message: string): ApiError {
  return new ApiError(401, message, undefined, true);
}

export function notImplemented(method: string, path: string): ApiError {
  return new ApiError(501, `Method '${method} ${path}' not implemented`);
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
