import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create({ timeoutMs: 60_000 })

await sandbox.setTimeout(300_000)

await sandbox.kill()
