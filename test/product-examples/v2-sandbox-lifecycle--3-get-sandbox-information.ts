import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create({ timeoutMs: 60_000 })

const info = await sandbox.getInfo()

console.log(info.sandboxId)
console.log(info.templateId)
console.log(info.state)
console.log(info.startedAt)
console.log(info.endAt)

await sandbox.kill()
