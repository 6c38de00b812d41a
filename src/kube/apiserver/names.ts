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

// The alphabet of k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable characters.
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateName(prefix: string, random: () => number = Math.random): string {
  // The prefix is cut so prefix plus the 5-character suffix stays within 63 characters.
  const base = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += SUFFIX_ALPHABET[Math.floor(random() * SUFFIX_ALPHABET.length)];
  return base + suffix;
}
