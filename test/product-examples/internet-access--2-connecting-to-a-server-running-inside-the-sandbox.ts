import { Sandbox } from 'novita-sandbox/code-interpreter'

const sandbox = await Sandbox.create()

// Start a simple HTTP server inside the sandbox.
const commandHandle = await sandbox.commands.run('python -m http.server 3000', { background: true })
const host = sandbox.getHost(3000)
const url = `https://${host}`
console.log('Server started at:', url)

// Fetch data from the server inside the sandbox.
const response = await fetch(url);
const data = await response.text();
console.log('Response from server inside sandbox:', data);

// Kill the server process inside the sandbox.
await commandHandle.kill()

// Example output:
// Server started at: https://3000-ibbw4zmqp38s77v1vbykj-d0b9e1e2.sandbox.novita.ai
// Response from server inside sandbox: <!DOCTYPE HTML>
// <html lang="en">
// <head>
// <meta charset="utf-8">
// <title>Directory listing for /</title>
// </head>
// <body>
// <h1>Directory listing for /</h1>
// <hr>
// <ul>
// <li><a href=".bash_logout">.bash_logout</a></li>
// <li><a href=".bashrc">.bashrc</a></li>
// <li><a href=".profile">.profile</a></li>
// </ul>
// <hr>
// </body>
// </html>

await sandbox.kill()
