// A kubeconfig for a stand-in's URL, for kubectl (--kubeconfig), the DNS server's
// `kubeconfig` option and client libraries. JSON is valid YAML, so one text serves all.
// @kubernetes/client-node refuses a plain http:// server unless the cluster says
// insecure-skip-tls-verify, hence the flag although no TLS is involved. An https stand-in is
// verified against caPem, the CA that signed its certificate.
export function kubeConfigFor(url: string, name = 'cloudnet-standin', caPem?: string): string {
  const cluster = caPem ? { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } : { server: url, 'insecure-skip-tls-verify': true };
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster }],
      users: [{ name, user: {} }],
      contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
      'current-context': name,
      preferences: {},
    },
    null,
    2,
  )}\n`;
}
