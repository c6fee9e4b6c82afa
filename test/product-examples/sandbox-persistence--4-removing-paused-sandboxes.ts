import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create()
console.log('Sandbox created', sandbox.sandboxId)

// Pause the sandbox.
await sandbox.betaPause()

// Kill the paused sandbox.
await sandbox.kill()
