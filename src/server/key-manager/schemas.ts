import { ApiError, badRequest } from '../../lib/errors.js';

// Request bodies as Barbican's validators take them: its rules, its limits and its messages. Pure functions from
// the parsed body to what the service stores, throwing the API's errors.

export const SECRET_TYPES = ['symmetric', 'passphrase', 'private', 'public', 'certificate', 'opaque'] as const;
export type SecretType = (typeof SECRET_TYPES)[number];

export const CONTAINER_TYPES = ['generic', 'rsa', 'certificate'] as const;
export type ContainerType = (typeof CONTAINER_TYPES)[number];

/** Barbican's `max_allowed_secret_in_bytes` default. */
export const MAX_SECRET_BYTES = 20000;

const TEXT = 'text/plain';
const BINARY = ['application/octet-stream', 'application/pkcs8', 'application/pkix-cert'];

export interface PayloadInput {
  bytes: Buffer;
  /** Normalized media type, the secret's `content_types.default`. */
  contentType: string;
}

export interface SecretInput {
  name: string | null;
  secretType: SecretType;
  algorithm: string | null;
  bitLength: number | null;
  mode: string | null;
  expiration: string | null;
  payload: PayloadInput | null;
}

export interface ContainerInput {
  name: string | null;
  type: ContainerType;
  secretRefs: Array<{ name: string | null; secretRef: string }>;
}

export interface AclInput {
  projectAccess?: boolean;
  users?: string[];
}

export const invalidObject = (schema: string, reason: string, property: string) =>
  new ApiError(400, 'InvalidObject', `Provided object does not match schema '${schema}': ${reason}. Invalid property: '${property}'`);

export const tooLarge = () => new ApiError(413, 'LimitExceeded', 'Provided information too large to process');

/** `text/plain; charset=utf-8` → `text/plain`; undefined for a type Barbican does not store. */
export function normalizeContentType(value: string): string | undefined {
  const [mime, ...params] = value.split(';').map((p) => p.trim().toLowerCase());
  if (params.length > 0) {
    const charset = /^charset\s*=\s*(.*)$/.exec(params[0]!)?.[1];
    if (params.length > 1 || charset !== 'utf-8' || mime !== TEXT) return undefined;
  }
  return mime === TEXT || BINARY.includes(mime!) ? mime : undefined;
}

/** A payload given on its own (`PUT /v1/secrets/{id}`): the body's bytes as sent, or base64-decoded on request. */
export function payloadFromUpload(body: Buffer, contentType: string, contentEncoding: string | undefined): PayloadInput {
  const normalized = normalizeContentType(contentType)!;
  if (body.length === 0) throw badRequest('No information provided to process.', 'NoDataToProcess');
  if (body.length > MAX_SECRET_BYTES) throw tooLarge();
  const encoding = contentEncoding?.trim().toLowerCase();
  if (!encoding || normalized === TEXT || encoding === 'binary') return { bytes: body, contentType: normalized };
  if (encoding !== 'base64') throw badRequest(`Secret Content-Encoding of '${contentEncoding}' not supported.`, 'SecretContentEncodingNotSupported');
  const text = body.toString('latin1').replace(/\s+/g, '');
  if (!isBase64(text)) throw badRequest('Problem decoding payload', 'PayloadDecodingError');
  return { bytes: Buffer.from(text, 'base64'), contentType: normalized };
}

export function parseSecretCreate(body: unknown, now: Date): SecretInput {
  const S = 'Secret';
  const data = objectBody(body, S);
  const name = optionalString(data, 'name', S, 255, true);
  const algorithm = optionalString(data, 'algorithm', S, 255);
  const mode = optionalString(data, 'mode', S, 255);
  const bitLength = data.bit_length;
  if (bitLength !== undefined && (typeof bitLength !== 'number' || !Number.isInteger(bitLength))) {
    throw invalidObject(S, `${JSON.stringify(bitLength)} is not of type 'integer'`, 'bit_length');
  }
  if (typeof bitLength === 'number' && (bitLength < 1 || bitLength > 32767)) {
    throw invalidObject(S, `${bitLength} is ${bitLength < 1 ? 'less than the minimum of 1' : 'greater than the maximum of 32767'}`, 'bit_length');
  }
  const secretType = optionalString(data, 'secret_type', S, 80) ?? 'opaque';
  if (!(SECRET_TYPES as readonly string[]).includes(secretType)) {
    throw invalidObject(S, `'${secretType}' is not one of ${pyList(SECRET_TYPES)}`, 'secret_type');
  }
  const expiration = parseExpiration(optionalString(data, 'expiration', S, 255), now, S);
  const contentType = optionalString(data, 'payload_content_type', S, 255, true);
  const encoding = optionalString(data, 'payload_content_encoding', S, 255);
  if (encoding !== null && encoding !== 'base64') throw invalidObject(S, `'${encoding}' is not one of ['base64']`, 'payload_content_encoding');

  let payload: PayloadInput | null = null;
  if ('payload' in data) {
    const raw = data.payload;
    if (typeof raw !== 'string') throw invalidObject(S, `${JSON.stringify(raw)} is not of type 'string'`, 'payload');
    if (contentType === null) throw invalidObject(S, "If 'payload' is supplied, 'payload_content_type' must also be supplied.", 'payload_content_type');
    const normalized = normalizeContentType(contentType);
    if (!normalized) throw invalidObject(S, `payload_content_type is not one of ${pyList(['text/plain', 'text/plain;charset=utf-8', 'text/plain; charset=utf-8', ...BINARY])}`, 'payload_content_type');
    if (normalized === TEXT && encoding !== null) throw invalidObject(S, 'payload_content_encoding is not one of None', 'payload_content_encoding');
    if (normalized !== TEXT && encoding === null) throw invalidObject(S, "payload_content_encoding is not one of ['base64', 'binary']", 'payload_content_encoding');
    if (Buffer.byteLength(raw, 'utf8') > MAX_SECRET_BYTES) throw tooLarge();
    const text = raw.trim();
    if (text === '') throw invalidObject(S, "If 'payload' specified, must be non empty", 'payload');
    if (normalized === TEXT) payload = { bytes: Buffer.from(text, 'utf8'), contentType: normalized };
    else {
      if (!isBase64(text)) throw invalidObject(S, 'Invalid payload for payload_content_encoding', 'payload');
      payload = { bytes: Buffer.from(text, 'base64'), contentType: normalized };
    }
  } else if ('payload_content_type' in data) {
    throw invalidObject(S, 'payload must be provided when payload_content_type is specified', 'payload');
  }
  return { name, secretType: secretType as SecretType, algorithm, bitLength: (bitLength as number | undefined) ?? null, mode, expiration, payload };
}

export function parseContainerCreate(body: unknown): ContainerInput {
  const S = 'Container';
  const data = objectBody(body, S);
  const name = optionalString(data, 'name', S, 255, true);
  if (!('type' in data)) throw invalidObject(S, "'type' is a required property", 'required');
  const type = data.type;
  if (typeof type !== 'string' || !(CONTAINER_TYPES as readonly string[]).includes(type)) {
    throw invalidObject(S, `${JSON.stringify(type)} is not one of ${pyList(CONTAINER_TYPES)}`, 'type');
  }
  const list = data.secret_refs ?? [];
  if (!Array.isArray(list)) throw invalidObject(S, `${JSON.stringify(list)} is not of type 'array'`, 'secret_refs');
  const secretRefs = list.map((item: unknown) => {
    if (!isObject(item)) throw invalidObject(S, `${JSON.stringify(item)} is not of type 'object'`, 'secret_refs');
    const refName = optionalString(item, 'name', S, 255, true);
    const ref = item.secret_ref;
    if (typeof ref !== 'string' || ref.trim() === '') throw invalidObject(S, "'secret_ref' is a required property", 'secret_refs');
    return { name: refName, secretRef: ref.trim() };
  });

  const names = new Set(secretRefs.map((r) => r.name ?? ''));
  if (names.size !== secretRefs.length) throw invalidObject(S, 'Duplicate reference names are not allowed', 'secret_refs');
  if (new Set(secretRefs.map((r) => lastSegment(r.secretRef))).size !== secretRefs.length) {
    throw invalidObject(S, 'Duplicate secret ids are not allowed', 'secret_refs');
  }
  if (secretRefs.length > 0 && type === 'rsa') {
    requireNames(names, ['public_key', 'private_key'], ['private_key_passphrase'], S,
      "only 'private_key', 'public_key' and 'private_key_passphrase' reference names are allowed for RSA type",
      "The minimum required reference names are 'public_key' and'private_key' for RSA type");
  }
  if (secretRefs.length > 0 && type === 'certificate') {
    requireNames(names, ['certificate'], ['private_key', 'private_key_passphrase', 'intermediates'], S,
      "only 'private_key', 'certificate' , 'private_key_passphrase',  or 'intermediates' reference names are allowed for Certificate type",
      "The minimum required reference name is 'certificate' for Certificate type");
  }
  return { name, type: type as ContainerType, secretRefs };
}

/** `{"read": {"users": [...], "project-access": bool}}`: Barbican defines the read operation only. */
export function parseAcl(body: unknown): AclInput | undefined {
  const S = 'ACL';
  const data = objectBody(body, S);
  for (const key of Object.keys(data)) {
    if (key !== 'read') throw invalidObject(S, `Additional properties are not allowed ('${key}' was unexpected)`, 'additionalProperties');
  }
  const read = data.read;
  if (read === undefined) return undefined;
  if (!isObject(read)) throw invalidObject(S, `${JSON.stringify(read)} is not of type 'object'`, 'properties');
  for (const key of Object.keys(read)) {
    if (key !== 'users' && key !== 'project-access') throw invalidObject(S, `Additional properties are not allowed ('${key}' was unexpected)`, 'properties');
  }
  const acl: AclInput = {};
  if ('project-access' in read) {
    if (typeof read['project-access'] !== 'boolean') throw invalidObject(S, `${JSON.stringify(read['project-access'])} is not of type 'boolean'`, 'properties');
    acl.projectAccess = read['project-access'];
  }
  if ('users' in read) {
    const users = read.users;
    if (!Array.isArray(users) || users.some((u) => typeof u !== 'string' || u.length > 255)) {
      throw invalidObject(S, `${JSON.stringify(users)} is not a list of user ids`, 'properties');
    }
    acl.users = [...new Set((users as string[]).map((u) => u.trim()))];
  }
  return acl;
}

/** The id at the end of a reference (`…/secrets/<id>`, with or without a trailing slash, or the bare id). */
export function lastSegment(ref: string): string {
  const parts = ref.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1]!;
}

function requireNames(names: Set<string>, required: string[], optional: string[], schema: string, unsupported: string, minimum: string): void {
  const allowed = new Set([...required, ...optional]);
  if ([...names].some((n) => !allowed.has(n))) throw invalidObject(schema, unsupported, 'secret_refs');
  if (required.some((n) => !names.has(n))) throw invalidObject(schema, minimum, 'secret_refs');
}

function objectBody(body: unknown, schema: string): Record<string, unknown> {
  if (!isObject(body)) throw invalidObject(schema, `${JSON.stringify(body ?? null)} is not of type 'object'`, 'type');
  return body;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string attribute, whitespace-trimmed as Barbican's body loader does; null when absent (or null, if allowed). */
function optionalString(data: Record<string, unknown>, key: string, schema: string, maxLength: number, nullable = false): string | null {
  const value = data[key];
  if (value === undefined || (nullable && value === null)) return null;
  if (typeof value !== 'string') throw invalidObject(schema, `${JSON.stringify(value)} is not of type 'string'`, key);
  if (value.length > maxLength) throw invalidObject(schema, `'${value.slice(0, 40)}…' is too long`, key);
  return value.trim();
}

function parseExpiration(value: string | null, now: Date, schema: string): string | null {
  if (value === null || value === '') return null;
  const text = value.replace(' ', 'T');
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/i.exec(text);
  // Without a zone the time is UTC, as oslo's parse_isotime reads it.
  const time = iso ? new Date(iso[2] ? text : `${iso[1] ? text : `${text}T00:00:00`}Z`) : undefined;
  if (!time || Number.isNaN(time.getTime())) throw invalidObject(schema, "Invalid date for 'expiration'", 'expiration');
  if (time <= now) throw invalidObject(schema, "'expiration' is before current time", 'expiration');
  return time.toISOString();
}

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

function pyList(values: readonly string[]): string {
  return `[${values.map((v) => `'${v}'`).join(', ')}]`;
}
