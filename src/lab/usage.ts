/** What `lab up` prints once the lab is ready: what exists and how to use it (pure, from the lab's state). */
import type { LabState } from './state.js';

export function renderLabUsage(state: LabState, cli = 'cloudnet'): string {
  const lastHost = state.hosts.at(-1)?.name ?? 'host1';
  const dirArg = `--dir ${state.dir}`;
  const hosts = state.hosts.map((h) => `    ${h.name.padEnd(8)} namespace ${h.netns}, tunnel IP ${h.tunnelIp}, agent ${h.agent ? `pid ${h.agent.pid}` : 'not running'}`);
  const networks = Object.entries(state.networks).map(([name, n]) => `    ${name.padEnd(9)} ${n.subnets.map((s) => s.cidr).join(', ')}`);
  return [
    `cloudnet lab ${state.runId} is up (state in ${state.dir}/lab.json, logs in ${state.dir}/logs)`,
    `  server   ${state.server?.url ?? 'not running'}`,
    ...hosts,
    `  public   namespace ${state.public?.netns ?? '-'}, ${state.public?.address ?? '-'} (the public network's gateway and a client on it)`,
    `  networks`,
    ...networks,
    '',
    'From another shell:',
    `  . ${state.openrc.admin}                 # or ${state.openrc.demo ?? 'openrc-demo'} for the demo project`,
    '  openstack network list',
    `  ${cli} lab vm create web --network demo-net ${dirArg}`,
    `  ${cli} lab vm create db --network demo-net --host ${lastHost} ${dirArg}`,
    `  ${cli} lab exec web ${dirArg} -- ping -c 3 <db's address>`,
    `  ${cli} lab exec public ${dirArg} -- ip addr      # also: fabric, host1, …`,
    `  ${cli} lab vm delete web ${dirArg}`,
    `  ${cli} lab down ${dirArg}                          # or Ctrl-C here`,
    '',
  ].join('\n');
}
