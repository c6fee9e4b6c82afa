import { Sandbox } from 'novita-sandbox/code-interpreter';

const sandbox = await Sandbox.create(
    {
        metadata: { "idle_timeout": "60" }
    }
);
console.log('Sandbox created', sandbox.sandboxId)

const result = await sandbox.commands.run('ls -al')
console.log('Command result', result)

await new Promise(resolve => setTimeout(resolve, 90000));

const isRunning = await sandbox.isRunning()
console.log('Sandbox is running', isRunning)

await sandbox.kill()
