// Parses a name below the cluster zone into the parts of the Kubernetes DNS specification:
//   [_port._proto.]service.namespace.svc   endpoint.service.namespace.svc   ip.namespace.pod

export interface RecordRequest {
  port: string;
  protocol: string;
  endpoint: string;
  service: string;
  namespace: string;
  // '' for the zone apex and for the bare "svc"/"pod" names.
  podOrSvc: '' | 'svc' | 'pod';
}

// base is the name with the zone removed ('' at the apex); null means the name cannot exist.
export function parseRecordRequest(base: string): RecordRequest | null {
  const r: RecordRequest = { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' };
  // The apex and the bare svc/pod names exist but hold no records (NODATA).
  if (base === '' || base === 'svc' || base === 'pod') return r;
  const segs = base.split('.');
  let last = segs.length - 1;
  const kind = segs[last];
  if (kind !== 'svc' && kind !== 'pod') return null;
  r.podOrSvc = kind;
  if (--last < 0) return r;
  r.namespace = segs[last];
  if (--last < 0) return r;
  r.service = segs[last];
  if (--last < 0) return r;
  if (last === 0) {
    r.endpoint = segs[0];
    return r;
  }
  if (last === 1) {
    r.protocol = stripUnderscore(segs[1]);
    r.port = stripUnderscore(segs[0]);
    return r;
  }
  return null;
}

function stripUnderscore(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}
