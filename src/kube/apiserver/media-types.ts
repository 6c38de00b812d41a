// Accept header parsing for the two alternate JSON forms clients negotiate: aggregated
// discovery and server-side printed Tables. Both are asked for as the first choice.

interface MediaType {
  type: string;
  params: Record<string, string>;
}

function firstAcceptable(accept: string | undefined): MediaType | undefined {
  const first = accept?.split(',')[0]?.trim();
  if (!first) return undefined;
  const [type, ...params] = first.split(';').map((p) => p.trim());
  return {
    type: type.toLowerCase(),
    params: Object.fromEntries(params.map((p) => p.split('=').map((x) => x.trim()) as [string, string])),
  };
}

export function asksFor(accept: string | undefined, group: string, version: string, as: string): boolean {
  const m = firstAcceptable(accept);
  return m?.type === 'application/json' && m.params.g === group && m.params.v === version && m.params.as === as;
}
