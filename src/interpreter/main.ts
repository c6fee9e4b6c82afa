// Entry point of the code interpreter inside a code-interpreter sandbox, started beside envd by
// the template's start command: `/opt/sandcastle/node /opt/sandcastle/lib/interpreter.mjs`.
// It listens at once and starts the default Python kernel (and the bridge to it) right away, so
// the kernel is warming up while the sandbox is handed to the client. The default JavaScript
// context exists from the start too, but gets its kernel only when it first runs code.
//
// Settings (environment; the defaults are the sandbox's):
//   SANDCASTLE_INTERPRETER_PORT     49999
//   SANDCASTLE_INTERPRETER_USER     user            who kernels run as (when that user exists)
//   SANDCASTLE_INTERPRETER_CWD      /home/user      default working directory of contexts
//   SANDCASTLE_INTERPRETER_RUN_DIR  /run/sandcastle-interpreter   kernels' connection files and sockets
//   SANDCASTLE_ENVS_FILE            /run/sandcastle/envs.json     sandbox-wide variables (from envd)
//   SANDCASTLE_INTERPRETER_PYTHON   python3
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BashKernel } from './bash-kernel.js';
import { Contexts } from './contexts.js';
import { defaultEnvsFile } from '../envd/http/published-env.js';
import { FreedMemory } from '../envd/memory-trim.js';
import { GlobalEnvs } from './global-envs.js';
import { kernelEnv, lookupIdentity, type Kernel, type Language } from './kernel.js';
import { NodeKernel } from './node-kernel.js';
import { interpreterPort } from '../protocol.js';
import { PythonBridge } from './python-bridge.js';
import { JupyterKernel } from './jupyter-kernel.js';
import { kernelSpecFor } from './kernelspecs.js';
import { pythonEnvCode, rEnvCode } from './env-code.js';
import { createInterpreterServer } from './server.js';

const env = process.env;
const port = Number(env.SANDCASTLE_INTERPRETER_PORT ?? interpreterPort);
const runDir = env.SANDCASTLE_INTERPRETER_RUN_DIR ?? '/run/sandcastle-interpreter';
const python = env.SANDCASTLE_INTERPRETER_PYTHON ?? 'python3';
/** The bundle folder: interpreter.mjs, interpreter-js-kernel.mjs and interpreter/ (Python, esbuild). */
const bundleDir = path.dirname(fileURLToPath(import.meta.url));
const assets = path.join(bundleDir, 'interpreter');

const identity = lookupIdentity(env.SANDCASTLE_INTERPRETER_USER ?? 'user');
mkdirSync(runDir, { recursive: true, mode: 0o755 });
const bridge = new PythonBridge(python, path.join(assets, 'bridge.py'));

const pythonArgv = [
  python,
  path.join(assets, 'kernel_launch.py'),
  '-f',
  '{connection_file}',
  // No history database: nothing reads it, and it costs the start a SQLite file in $HOME.
  '--HistoryManager.enabled=False',
  '--IPKernelApp.log_level=ERROR',
  // The kernel ends itself when this server is gone (it is then a child of the sandbox's init).
  `--IPKernelApp.parent_handle=${process.pid}`,
];

function newKernel(language: Language, cwd: string, globals: Readonly<Record<string, string>>): Kernel {
  const kernelEnvironment = kernelEnv(identity, cwd, globals);
  const jupyter = { bridge, runDir, cwd, env: kernelEnvironment, identity };
  switch (language) {
    case 'python':
      return new JupyterKernel({ ...jupyter, argv: pythonArgv, interruptMode: 'signal', envCode: pythonEnvCode });
    case 'r':
    case 'java': {
      const spec = kernelSpecFor(language);
      if (!spec) throw new Error(`no ${language} kernel is installed in this sandbox`);
      // Java cannot change its own environment: per-execution variables do not reach it.
      return new JupyterKernel({ ...jupyter, ...spec, envCode: language === 'r' ? rEnvCode : () => undefined });
    }
    case 'javascript':
    case 'typescript':
      return new NodeKernel({
        node: process.execPath,
        script: path.join(bundleDir, 'interpreter-js-kernel.mjs'),
        esbuild: path.join(assets, 'esbuild'),
        typescript: language === 'typescript',
        cwd,
        env: kernelEnvironment,
        identity,
      });
    case 'bash':
      return new BashKernel({ cwd, env: kernelEnvironment, identity });
  }
}

const contexts = new Contexts({
  newKernel,
  globals: new GlobalEnvs(env.SANDCASTLE_ENVS_FILE ?? defaultEnvsFile),
  defaultCwd: env.SANDCASTLE_INTERPRETER_CWD ?? '/home/user',
  interruptGraceMs: 3000,
});

// A cell's large output stays in memory until the next collection otherwise: 112-213 MiB after
// 64 MiB of output, which a pause wrote to disk.
const freedMemory = new FreedMemory((message) => console.error(`interpreter: ${message}`));
const server = createInterpreterServer({ contexts, defaultContextId: () => contexts.defaultFor('python').id, freedMemory });
server.listen(port, '0.0.0.0', () => console.log(`interpreter listening on 0.0.0.0:${port}`));
bridge.start();
contexts.defaultFor('python');
// Listed from the start, as the hosted interpreter lists it; its Node process starts on first use.
contexts.defaultFor('javascript', { lazy: true });

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    contexts.close();
    bridge.close();
    process.exit(0);
  });
}
