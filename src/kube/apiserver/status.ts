// Failures travel as metav1.Status objects with the reason, code and details the real
// kube-apiserver uses, because clients (client-go, kubectl, @kubernetes/client-node)
// branch on `reason` and `code`, not on the message.

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Expired'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'Forbidden'
  | 'Timeout'
  | 'InternalError';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** Identifies the resource an error is about, as StatusDetails names it. */
export interface QualifiedResource {
  group: string;
  resource: string;
  kind: string;
}

export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

function failure(code: number, reason: StatusReason, message: string, details?: StatusDetails): ApiError {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) status.details = details;
  return new ApiError(status);
}

// client-go prints "services" for the core group and "endpointslices.discovery.k8s.io" otherwise.
function qualified(r: QualifiedResource): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function detailsFor(r: QualifiedResource, name: string, byKind = false): StatusDetails {
  // The real server puts the plural resource name in details.kind ("Yes we set Kind field to
  // resource"), except for Invalid, where it is the Kind.
  const details: StatusDetails = { name, kind: byKind ? r.kind : r.resource };
  if (r.group) details.group = r.group;
  return details;
}

export function notFound(r: QualifiedResource, name: string): ApiError {
  return failure(404, 'NotFound', `${qualified(r)} "${name}" not found`, detailsFor(r, name));
}

export function alreadyExists(r: QualifiedResource, name: string): ApiError {
  return failure(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, detailsFor(r, name));
}

export function conflict(r: QualifiedResource, name: string, why: string): ApiError {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, detailsFor(r, name));
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

/** One field error, worded as k8s.io/apimachinery's field.Error. */
export interface FieldError {
  type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueDuplicate' | 'FieldValueForbidden';
  field: string;
  detail: string;
  value?: unknown;
}

const FIELD_ERROR_LABEL: Record<FieldError['type'], string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
};

function fieldErrorBody(e: FieldError): string {
  const label = FIELD_ERROR_LABEL[e.type];
  const hasValue = e.type === 'FieldValueInvalid' || e.type === 'FieldValueNotSupported' || e.type === 'FieldValueDuplicate';
  const value = hasValue ? `: ${JSON.stringify(e.value ?? '')}` : '';
  return e.detail ? `${label}${value}: ${e.detail}` : `${label}${value}`;
}

export function invalid(r: QualifiedResource, name: string, errors: FieldError[]): ApiError {
  const parts = errors.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const causes = errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
  const kindName = r.group ? `${r.kind}.${r.group}` : r.kind;
  return failure(422, 'Invalid', `${kindName} "${name}" is invalid: ${summary}`, { ...detailsFor(r, name, true), causes });
}

export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message);
}

export function methodNotAllowed(): ApiError {
  return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

export function unsupportedMediaType(accepted: string[], why?: string): ApiError {
  const message = `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`;
  return failure(415, 'UnsupportedMediaType', why ? `${message} (${why})` : message);
}

export function pathNotFound(): ApiError {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function forbidden(r: QualifiedResource, name: string, why: string): ApiError {
  return failure(403, 'Forbidden', `${qualified(r)} "${name}" is forbidden: ${why}`, detailsFor(r, name));
}

/** A watch or list from a resourceVersion older than the retained history. */
export function resourceVersionExpired(requested: number, oldestServable: number): ApiError {
  return failure(410, 'Expired', `too old resource version: ${requested} (${oldestServable})`);
}

export function continueExpired(): ApiError {
  return failure(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
  );
}

export function resourceVersionTooLarge(requested: number, current: number): ApiError {
  return failure(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

export function success(details: StatusDetails): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

export function internalError(message: string): ApiError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`);
}
