import { badRequest } from '../../lib/errors.js';

// Request-body checks that name the offending field the way Keystone's schema validation does:
// "Invalid input for field 'auth.identity.methods': …". Each returns the typed value or throws a 400.

export type Json = Record<string, unknown>;

export function invalid(field: string, problem: string): Error {
  return badRequest(`Invalid input for field '${field}': ${problem}`);
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectAt(value: unknown, field: string): Json {
  if (!isObject(value)) throw invalid(field, value === undefined ? 'is a required property' : 'must be an object');
  return value;
}

export function optionalObjectAt(value: unknown, field: string): Json | undefined {
  return value === undefined ? undefined : objectAt(value, field);
}

/** A string of 1 to `max` characters (Keystone's names and ids are at most 64, passwords 4096). */
export function stringAt(value: unknown, field: string, max = 255): string {
  if (value === undefined) throw invalid(field, 'is a required property');
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  if (value.length === 0) throw invalid(field, 'must not be empty');
  if (value.length > max) throw invalid(field, `must be at most ${max} characters long`);
  return value;
}

export function optionalStringAt(value: unknown, field: string, max = 255): string | undefined {
  return value === undefined ? undefined : stringAt(value, field, max);
}

export function booleanAt(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(field, 'must be a boolean');
  return value;
}
