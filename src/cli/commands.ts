// The table of subcommands. Each module is loaded only when its command runs,
// so `cloudnet dns` does not pay for the control plane's dependencies and vice versa.
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

export interface Command {
  summary: string;
  load(): Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  server: { summary: 'run the control plane (Identity, Network and the other APIs)', load: () => import('./server.js') },
  'host-agent': { summary: "converge a host's bridges, VXLAN and nftables on its target state", load: () => import('./host-agent.js') },
  'amphora-agent': { summary: "run an amphora's HAProxy and keepalived on the target it follows from the server", load: () => import('./amphora-agent.js') },
  lab: { summary: 'the whole cloud on one machine: server, hosts and VMs in network namespaces', load: () => import('./lab.js') },
  openrc: { summary: "print the OS_* exports for the openstack CLI", load: () => import('./openrc.js') },
  'kube-apiserver': { summary: 'Kubernetes API stand-in for tests and the lab (not for production)', load: () => import('./kube-apiserver.js') },
  dns: { summary: 'cluster DNS server configured by a Corefile (CoreDNS-compatible)', load: () => import('./dns.js') },
};
