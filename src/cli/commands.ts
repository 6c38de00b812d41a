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
  dns: { summary: 'cluster DNS server configured by a Corefile (CoreDNS-compatible)', load: () => import('./dns.js') },
};
