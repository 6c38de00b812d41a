/**
 * A failure to report to an API client. `type` is the exception name the OpenStack services use
 * (Neutron puts it in `NeutronError.type`); each API renders these in its own fault format.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, type = 'HTTPBadRequest') => new ApiError(400, type, message);
export const unauthorized = (message = 'The request you have made requires authentication.') =>
  new ApiError(401, 'HTTPUnauthorized', message);
export const forbidden = (message: string, type = 'HTTPForbidden') => new ApiError(403, type, message);
export const notFound = (message: string, type = 'HTTPNotFound') => new ApiError(404, type, message);
export const conflict = (message: string, type = 'HTTPConflict') => new ApiError(409, type, message);
export const preconditionFailed = (message: string, type = 'RevisionNumberConstraintFailed') =>
  new ApiError(412, type, message);
