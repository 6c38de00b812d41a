// Kubernetes label selectors (equality- and set-based), matched client-side too so an API server
// that ignores labelSelector still yields only the selected objects.

type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

export type LabelSelector = Requirement[];

export function parseLabelSelector(text: string): LabelSelector {
  const requirements: Requirement[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  for (const raw of parts) {
    const part = raw.trim();
    if (!part) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s*(!=|==|=)\s*([\w./-]*)$/.exec(part))) {
      requirements.push({ op: m[2] === '!=' ? 'neq' : 'eq', key: m[1], value: m[3] });
    } else if ((m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part))) {
      requirements.push({ op: m[2] as 'in' | 'notin', key: m[1], values: m[3].split(',').map((v) => v.trim()).filter(Boolean) });
    } else if ((m = /^!([\w./-]+)$/.exec(part))) {
      requirements.push({ op: 'notexists', key: m[1] });
    } else if ((m = /^([\w./-]+)$/.exec(part))) {
      requirements.push({ op: 'exists', key: m[1] });
    } else {
      throw new Error(`invalid label selector requirement '${part}'`);
    }
  }
  return requirements;
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq':
        return has && l[r.key] === r.value;
      case 'neq':
        return !has || l[r.key] !== r.value;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}
