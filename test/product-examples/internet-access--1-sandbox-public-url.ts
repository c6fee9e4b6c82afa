import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create()

// You need to always pass a port number to get the host
const host = sandbox.getHost(3000)
console.log(`https://${host}`)

// Example output:
// https://3000-idpw1qdrbcciscn2r8lw7-82b888ba.sandbox.novita.ai

await sandbox.kill()
