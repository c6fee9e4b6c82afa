#!/usr/bin/env node
// The `sandcastle` command.
import { Command } from 'commander';
import { registerInstallCommand } from './install-command.js';
import { registerKeysCommands } from './keys-commands.js';
import { registerSandboxCommands } from './sandbox-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerSnapshotCommands } from './snapshot-commands.js';
import { registerTemplateCommands } from './template-commands.js';
import { registerVolumeCommands } from './volume-commands.js';

const program = new Command();
program.name('sandcastle').description('Self-hosted agent sandboxes for the novita-sandbox and e2b SDKs');
registerServeCommand(program);
registerSandboxCommands(program);
registerKeysCommands(program);
registerTemplateCommands(program);
registerSnapshotCommands(program);
registerVolumeCommands(program);
registerInstallCommand(program);
// A client command is done when its action is: exit then, with the code it set (exec and connect
// pass on the remote one), rather than wait for the SDK's idle connections to close.
let clientDone = false;
program.hook('postAction', (_program, action) => {
  clientDone = !['serve', 'install'].includes(action.name());
});
try {
  await program.parseAsync();
  if (clientDone) process.exit(process.exitCode ?? 0);
} catch (err) {
  console.error(`sandcastle: ${(err as Error).message}`);
  process.exit(1);
}
