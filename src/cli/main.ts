#!/usr/bin/env node
// Entry point of the `cloudnet` executable: picks the subcommand and hands it its arguments.
import { commands } from './commands.js';

const USAGE = `usage: cloudnet <command> [options]

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(16)} ${c.summary}`)
  .join('\n')}

Run 'cloudnet <command> --help' for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`cloudnet: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  const { run } = await command.load();
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cloudnet: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
