// Object name rules (k8s.io/apimachinery/pkg/util/validation), with the real messages,
// and generateName's random suffix.
import type { FieldError } from './status.js';
import type { NameRule } from './resources.js';

const RULES: Record<NameRule, { regex: RegExp; max: number; text: string; example: string; source: string }> = {
  'dns1123-subdomain': {
    regex: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    max: 253,
    text: "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    example: "'example.com'",
    source: "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
  },
  'dns1123-label': {
    regex: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    max: 63,
    text: "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    example: "'my-name',  or '123-abc'",
    source: '[a-z0-9]([-a-z0-9]*[a-z0-9])?',
  },
  'dns1035-label': {
    regex: /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
    max: 63,
    text: "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
    example: "'my-name',  or 'abc-123'",
    source: '[a-z]([-a-z0-9]*[a-z0-9])?',
  },
};

export function validateName(rule: NameRule, name: string, field = 'metadata.name'): FieldError[] {
  const r = RULES[rule];
  const errors: FieldError[] = [];
  if (name.length > r.max) {
    errors.push({ type: 'FieldValueInvalid', field, value: name, detail: `must be no more than ${r.max} characters` });
  }
  if (!r.regex.test(name)) {
    errors.push({
      type: 'FieldValueInvalid',
      field,
      value: name,
      detail: `${r.text} (e.g. ${r.example}, regex used for validation is '${r.source}')`,
    });
  }
  return errors;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_TEXT =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_TEXT =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Label and annotation keys: an optional DNS subdomain prefix and '/', then a qualified name. */
function validateKey(key: string, field: string): FieldError[] {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const errors: FieldError[] = [];
  if (prefix !== undefined) errors.push(...validateName('dns1123-subdomain', prefix, field).map((e) => ({ ...e, value: key, detail: `prefix part ${e.detail}` })));
  if (name.length === 0 || name.length > 63) {
    errors.push({ type: 'FieldValueInvalid', field, value: key, detail: name.length ? 'name part must be no more than 63 characters' : 'name part must be non-empty' });
  } else if (!QUALIFIED_NAME.test(name)) errors.push({ type: 'FieldValueInvalid', field, value: key, detail: QUALIFIED_NAME_TEXT });
  return errors;
}

export function validateLabels(labels: unknown, field = 'metadata.labels'): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== 'object' || Array.isArray(labels)) return [{ type: 'FieldValueInvalid', field, value: labels, detail: 'must be a map of strings' }];
  return Object.entries(labels as Record<string, unknown>).flatMap(([key, value]) => {
    const errors = validateKey(key, field);
    if (typeof value !== 'string' || value.length > 63 || (value !== '' && !QUALIFIED_NAME.test(value))) {
      errors.push({ type: 'FieldValueInvalid', field, value, detail: typeof value === 'string' && value.length > 63 ? 'must be no more than 63 characters' : LABEL_VALUE_TEXT });
    }
    return errors;
  });
}

export function validateAnnotations(annotations: unknown, field = 'metadata.annotations'): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (typeof annotations !== 'object' || Array.isArray(annotations)) return [{ type: 'FieldValueInvalid', field, value: annotations, detail: 'must be a map of strings' }];
  return Object.entries(annotations as Record<string, unknown>).flatMap(([key, value]) => {
    const errors = validateKey(key.toLowerCase(), field);
    if (typeof value !== 'string') errors.push({ type: 'FieldValueInvalid', field, value, detail: 'must be a string' });
    return errors;
  });
}

// The alphabet of k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable characters.
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateName(prefix: string, random: () => number = Math.random): string {
  // The prefix is cut so prefix plus the 5-character suffix stays within 63 characters.
  const base = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += SUFFIX_ALPHABET[Math.floor(random() * SUFFIX_ALPHABET.length)];
  return base + suffix;
}
