import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create()

const connectedSandbox = await Sandbox.connect(sandbox.sandboxId, { timeoutMs: 60 * 1000 })
console.log('Sandbox connected', connectedSandbox.sandboxId)

await sandbox.kill()
