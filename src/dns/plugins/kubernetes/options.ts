// The kubernetes directive: `kubernetes [ZONES...] { endpoint, tls, kubeconfig, namespaces, labels,
// pods, endpoint_pod_names, ttl, noendpoints, fallthrough, ignore empty_service }`.
import type { Directive } from '../../corefile/parser.js';
import { directiveError, expectArgs, intArg, unsupported, zonesArg } from '../args.js';
import { NO_FALLTHROUGH, parseFallthrough, type Fallthrough } from '../fallthrough.js';
import { parseLabelSelector, type LabelSelector } from '../../../kube/label-selector.js';
import type { SynthesisOptions } from './records.js';

export interface KubernetesOptions extends SynthesisOptions {
  zones: string[];
  endpoint: string | null;
  // Client certificate, key and the CA the endpoint's certificate is checked against; as in
  // CoreDNS, only used with endpoint.
  tls: { certFile: string; keyFile: string; caFile: string } | null;
  kubeconfig: { path: string; context: string | null } | null;
  labels: { text: string; selector: LabelSelector } | null;
  noEndpoints: boolean;
  fallthrough: Fallthrough;
}

export function parseKubernetesOptions(d: Directive, blockZones: string[]): KubernetesOptions {
  const o: KubernetesOptions = {
    zones: zonesArg(d, d.args, blockZones),
    endpoint: null,
    tls: null,
    kubeconfig: null,
    labels: null,
    noEndpoints: false,
    fallthrough: NO_FALLTHROUGH,
    ttl: 5,
    pods: 'disabled',
    endpointPodNames: false,
    ignoreEmptyService: false,
    namespaces: null,
  };
  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'endpoint':
        expectArgs(sub, 1, 1);
        if (!/^https?:\/\//.test(sub.args[0])) throw directiveError(sub, `'${sub.args[0]}' is not an http(s) URL`);
        o.endpoint = sub.args[0];
        break;
      case 'tls':
        expectArgs(sub, 3, 3);
        o.tls = { certFile: sub.args[0], keyFile: sub.args[1], caFile: sub.args[2] };
        break;
      case 'kubeconfig':
        expectArgs(sub, 1, 2);
        o.kubeconfig = { path: sub.args[0], context: sub.args[1] ?? null };
        break;
      case 'namespaces':
        expectArgs(sub, 1, Infinity);
        o.namespaces = new Set(sub.args.map((n) => n.toLowerCase()));
        break;
      case 'labels':
        expectArgs(sub, 1, Infinity);
        try {
          const text = sub.args.join(' ');
          o.labels = { text, selector: parseLabelSelector(text) };
        } catch (err) {
          throw directiveError(sub, (err as Error).message);
        }
        break;
      case 'pods':
        expectArgs(sub, 1, 1);
        if (sub.args[0] !== 'disabled' && sub.args[0] !== 'insecure' && sub.args[0] !== 'verified') throw directiveError(sub, `'${sub.args[0]}' must be disabled, insecure or verified`);
        o.pods = sub.args[0];
        break;
      case 'endpoint_pod_names':
        expectArgs(sub, 0, 0);
        o.endpointPodNames = true;
        break;
      case 'ttl':
        expectArgs(sub, 1, 1);
        o.ttl = intArg(sub, sub.args[0], 0, 3600);
        break;
      case 'noendpoints':
        expectArgs(sub, 0, 0);
        o.noEndpoints = true;
        break;
      case 'fallthrough':
        o.fallthrough = parseFallthrough(sub);
        break;
      case 'ignore':
        expectArgs(sub, 1, 1);
        if (sub.args[0] !== 'empty_service') throw directiveError(sub, `'ignore ${sub.args[0]}' is not supported (only empty_service)`);
        o.ignoreEmptyService = true;
        break;
      default:
        throw unsupported(sub, 'kubernetes');
    }
  }
  if (o.endpoint && o.kubeconfig) throw directiveError(d, 'endpoint and kubeconfig are mutually exclusive');
  return o;
}
