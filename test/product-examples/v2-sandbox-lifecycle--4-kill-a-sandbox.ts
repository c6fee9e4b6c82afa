import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create({ timeoutMs: 60_000 })
const sandboxId = sandbox.sandboxId

await sandbox.kill()

// Or kill by ID.
await Sandbox.kill(sandboxId)
