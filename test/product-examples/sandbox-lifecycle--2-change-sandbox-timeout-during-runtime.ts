import { Sandbox } from 'novita-sandbox/code-interpreter'

// Create sandbox with and keep it running for 60 seconds.
const sandbox = await Sandbox.create({ timeoutMs: 60_000 })

// Change the sandbox timeout to 30 seconds.
// The new timeout will be 30 seconds from now.
await sandbox.setTimeout(30_000)

await sandbox.kill()
