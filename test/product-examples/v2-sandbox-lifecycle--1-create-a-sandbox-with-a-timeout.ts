import { Sandbox } from 'novita-sandbox/code-interpreter'

// Timeout is in milliseconds.
const sandbox = await Sandbox.create({ timeoutMs: 60_000 })

await sandbox.kill()
