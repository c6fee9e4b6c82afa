#!/usr/bin/env node
// The `sandcastle` command.
import { Command } from 'commander';
import { registerInstallCommand } from './install-command.js';
import { registerKeysCommands } from './keys-commands.js';
import { registerSandboxCommands } from './sandbox-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerTemplateCommands } from './template-commands.js';

const program = new Command();
program.name('sandcastle').description('Self-hosted agent sandboxes for the novita-sandbox and e2b SDKs');
registerServeCommand(program);
registerSandboxCommands(program);
registerKeysCommands(program);
registerTemplateCommands(program);
registerInstallCommand(program);
try {
  await program.parseAsync();
} catch (err) {
  console.error(`sandcastle: ${(err as Error).message}`);
  process.exit(1);
}
