// Kubernetes label selectors, parsed as the API server parses them and matched as it matches them: one
// implementation for the API stand-in (list and watch filters) and the DNS server (the `labels` option).

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type LabelSelector = LabelRequirement[];

export class SelectorError extends Error {}

// Qualified names: optional DNS-1123 subdomain prefix, '/', then a name of up to 63 characters.
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string): string {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefixOk = slash < 0 || (prefix.length > 0 && prefix.length <= 253 && PREFIX.test(prefix));
  if (!prefixOk || name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    throw new SelectorError(`unable to parse requirement: key: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
  return key;
}

function checkValue(value: string): string {
  if (value !== '' && (value.length > 63 || !NAME_PART.test(value))) {
    throw new SelectorError(`unable to parse requirement: values[0]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
  return value;
}

// Commas separate requirements except inside the parentheses of `in (a,b)`.
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

const SET_FORM = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/;
const BINARY_FORM = /^([^=!<>\s]+)\s*(==|!=|=|>|<)\s*(.*)$/;

export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (!text || text.trim() === '') return [];
  return splitTopLevel(text).map((part): LabelRequirement => {
    if (part === '') throw new SelectorError(`unable to parse requirement: found '', expected: identifier`);
    const set = SET_FORM.exec(part);
    if (set) {
      const values = set[3].split(',').map((v) => checkValue(v.trim()));
      return { key: checkKey(set[1]), op: set[2] as 'in' | 'notin', values };
    }
    if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim()), op: '!' };
    const binary = BINARY_FORM.exec(part);
    if (binary) {
      const [, key, op, raw] = binary;
      const value = raw.trim();
      if (op === '>' || op === '<') {
        if (!/^-?\d+$/.test(value)) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
        return { key: checkKey(key), op: op === '>' ? 'gt' : 'lt', value: Number(value) };
      }
      return { key: checkKey(key), op: op === '!=' ? 'notin' : 'in', values: [checkValue(value)] };
    }
    return { key: checkKey(part), op: 'exists' };
  });
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(l[r.key])) return false;
        const n = Number(l[r.key]);
        return r.op === 'gt' ? n > r.value : n < r.value;
      }
    }
  });
}
