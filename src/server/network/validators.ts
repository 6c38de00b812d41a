import { ApiError } from '../../lib/errors.js';
import { canonicalIp, formatCidr, parseCidr } from '../../lib/ip.js';

/**
 * Converters check a value from a request and return it in canonical form. A failure names the reason only;
 * the attribute layer wraps it as Neutron does: "Invalid input for <attr>. Reason: <reason>."
 */
export type Convert = (value: unknown) => unknown;

export class InvalidValue extends Error {}

export function invalidInput(message: string): ApiError {
  return new ApiError(400, 'InvalidInput', `Invalid input for operation: ${message}.`);
}

const fail = (reason: string): never => {
  throw new InvalidValue(reason);
};

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export const string =
  (max = 255): Convert =>
  (v) => {
    if (typeof v !== 'string') fail(`'${show(v)}' is not a valid string`);
    if ((v as string).length > max) fail(`'${v}' exceeds maximum length of ${max}`);
    return v;
  };

export const stringOrNull =
  (max = 255): Convert =>
  (v) => (v === null ? null : string(max)(v));

export const boolean: Convert = (v) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const lower = v.toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0') return false;
  }
  return fail(`'${show(v)}' cannot be converted to boolean`);
};

export const integer: Convert = (v) => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return fail(`'${show(v)}' is not an integer`);
};

export const nonNegative: Convert = (v) => {
  const n = integer(v) as number;
  if (n < 0) fail(`'${n}' should be non-negative`);
  return n;
};

export const integerOrNull: Convert = (v) => (v === null ? null : integer(v));

export const oneOf =
  <T>(values: readonly T[]): Convert =>
  (v) => {
    if (!values.includes(v as T)) fail(`'${show(v)}' is not in ${JSON.stringify(values).replace(/"/g, "'")}`);
    return v;
  };

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export const uuid: Convert = (v) => {
  if (typeof v !== 'string' || !UUID.test(v)) fail(`'${show(v)}' is not a valid UUID`);
  return v;
};

export const uuidOrNull: Convert = (v) => (v === null ? null : uuid(v));

export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

const MAC = /^([0-9a-f]{2})([:-][0-9a-f]{2}){5}$/i;

export const macAddress: Convert = (v) => {
  if (typeof v !== 'string' || !MAC.test(v)) return fail(`'${show(v)}' is not a valid MAC address`);
  const mac = v.toLowerCase().replace(/-/g, ':');
  const firstOctet = Number.parseInt(mac.slice(0, 2), 16);
  if (mac === '00:00:00:00:00:00' || firstOctet & 1) fail(`'${v}' is not a valid MAC address`);
  return mac;
};

export const ipAddress: Convert = (v) => {
  const ip = typeof v === 'string' ? canonicalIp(v) : undefined;
  return ip ?? fail(`'${show(v)}' is not a valid IP address`);
};

export const ipAddressOrNull: Convert = (v) => (v === null ? null : ipAddress(v));

/** A network address with no host bits set, e.g. a subnet's CIDR. */
export const subnetCidr: Convert = (v) => {
  if (typeof v !== 'string') return fail(`'${show(v)}' is not a valid IP subnet`);
  const any = parseCidr(v);
  if (!any || !v.includes('/')) return fail(`'${v}' is not a valid IP subnet`);
  const strict = parseCidr(v, { strict: true });
  if (!strict) fail(`'${v}' isn't a recognized IP subnet cidr, '${formatCidr(any)}' is recommended`);
  return formatCidr(strict!);
};

/** An address or prefix where host bits are tolerated and cleared (remote_ip_prefix, allowed address pairs). */
export const ipOrPrefix: Convert = (v) => {
  const c = typeof v === 'string' ? parseCidr(v) : undefined;
  if (!c) return fail(`'${show(v)}' is not a valid IP subnet`);
  return formatCidr(c);
};

export const listOf =
  (item: Convert): Convert =>
  (v) => {
    if (!Array.isArray(v)) return fail(`'${show(v)}' is not a list`);
    return v.map(item);
  };

export const noDuplicates =
  (convert: Convert, what: string): Convert =>
  (v) => {
    const list = convert(v) as unknown[];
    const seen = new Set<string>();
    for (const item of list) {
      const key = JSON.stringify(item);
      if (seen.has(key)) fail(`Duplicate ${what} '${typeof item === 'string' ? item : key}'`);
      seen.add(key);
    }
    return list;
  };

export const dict: Convert = (v) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`'${show(v)}' is not a dictionary`);
  return v;
};

export const dictOrNull: Convert = (v) => (v === null ? {} : dict(v));

/**
 * Checks a dictionary against a spec of its keys; unknown keys and missing required ones are errors,
 * as with Neutron's `type:dict` validators.
 */
export function dictWith(spec: Record<string, { convert: Convert; required?: boolean }>): Convert {
  return (v) => {
    const d = dict(v) as Record<string, unknown>;
    for (const key of Object.keys(d)) {
      if (!(key in spec)) fail(`Unrecognized attribute '${key}'`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, { convert, required }] of Object.entries(spec)) {
      if (d[key] === undefined) {
        if (required) fail(`Validation of dictionary's keys failed. Expected keys: {'${key}'} Provided keys: ${show(Object.keys(d))}`);
        continue;
      }
      out[key] = convert(d[key]);
    }
    return out;
  };
}
