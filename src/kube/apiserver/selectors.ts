// Field selectors as the real API server parses them (label selectors: ../label-selector.ts), pure so they can
// be tested with tables and shared by list and watch.

import { SelectorError } from '../label-selector.js';

export { matchesLabels, parseLabelSelector, SelectorError, type LabelRequirement, type LabelSelector } from '../label-selector.js';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldSelector = FieldRequirement[];

// Field selector values may escape ',', '=', '!' and '\' with a backslash.
function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

export function parseFieldSelector(text: string | undefined, knownFields: readonly string[]): FieldSelector {
  if (!text || text.trim() === '') return [];
  return splitEscaped(text, ',').map((part) => {
    const m = /^((?:[^=!\\]|\\.)*?)(==|!=|=)(.*)$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1].trim();
    if (!knownFields.includes(field)) {
      throw new SelectorError(`"${field}" is not a known field selector: only ${knownFields.map((f) => `"${f}"`).join(', ')}`);
    }
    return { field, op: m[2] === '!=' ? '!=' : '=', value: unescapeFieldValue(m[3]) };
  });
}

/** The string a field selector compares against: absent fields are "", booleans are "true"/"false". */
function fieldValue(object: unknown, path: string): string {
  let v: unknown = object;
  for (const segment of path.split('.')) {
    if (v === null || typeof v !== 'object') return '';
    v = (v as Record<string, unknown>)[segment];
  }
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : String(v);
}

export function matchesFields(selector: FieldSelector, object: unknown): boolean {
  return selector.every((r) => (fieldValue(object, r.field) === r.value) === (r.op === '='));
}
