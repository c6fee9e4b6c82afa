// Code-interpreter figures for `npm run bench`: runCode round trip and create → first result with
// the unmodified @e2b/code-interpreter SDK, beside the floor measured in the same run inside a
// sandbox of the same template: a bare jupyter_client talking to a local ipykernel (no HTTP, no
// proxy, no bridge). Also create → first result from a warm snapshot of code-interpreter-v1 (what
// a create restored from a checkpoint taken once the kernel is up would cost).
import { Sandbox } from '@e2b/code-interpreter';
import { Sandbox as NovitaSandbox } from 'novita-sandbox';
import { percentile, type Row } from './stats.js';
import { timed } from './persistence.js';

const roundTrips = 100;
const creates = 10;

/** Runs inside the sandbox: start a kernel the plain Jupyter way, then time `1+1` until both the
 *  reply and the idle status are in (the interpreter's own notion of done). Prints JSON. */
const floorScript = String.raw`
import json, sys, time
from jupyter_client import KernelManager
km = KernelManager(transport="ipc")
km.ip = "/tmp/bench-floor-kernel"
t0 = time.perf_counter()
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
start_ms = (time.perf_counter() - t0) * 1000
def run(code):
    msg_id = kc.execute(code)
    replied = idle = False
    while not (replied and idle):
        if not replied:
            replied = kc.get_shell_msg(timeout=30)["parent_header"].get("msg_id") == msg_id
        if not idle:
            m = kc.get_iopub_msg(timeout=30)
            idle = m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
run("1+1")
trips = []
for _ in range(int(sys.argv[1])):
    a = time.perf_counter()
    run("1+1")
    trips.append((time.perf_counter() - a) * 1000)
km.shutdown_kernel(now=True)
print(json.dumps({"start_ms": start_ms, "trips": trips}))
`;

export async function codeInterpreterRows(): Promise<Row[]> {
  const rows: Row[] = [];
  // Warm-up (page cache of the template's Python files, JIT of the SDK path).
  const warm = await Sandbox.create();
  await warm.runCode('1+1');

  const trips: number[] = [];
  for (let i = 0; i < roundTrips; i++) {
    const t0 = performance.now();
    await warm.runCode('1+1');
    trips.push(performance.now() - t0);
  }
  const tripP50 = percentile(trips, 50);
  rows.push({ name: "runCode('1+1') round trip", unit: 'ms', p50: tripP50, p95: percentile(trips, 95), target: 'p50 ≤ 15' });

  await warm.files.write('/tmp/bench-floor.py', floorScript);
  const floorRun = await warm.commands.run(`python3 /tmp/bench-floor.py ${roundTrips}`, { timeoutMs: 120_000 });
  const floor = JSON.parse(floorRun.stdout) as { start_ms: number; trips: number[] };
  const floorP50 = percentile(floor.trips, 50);
  rows.push({ name: "floor: bare jupyter_client execute('1+1') in the sandbox", unit: 'ms', p50: floorP50, p95: percentile(floor.trips, 95) });
  rows.push({ name: 'ratio: runCode round trip p50 / floor p50', unit: '×', value: tripP50 / floorP50 });

  // TypeScript cells: esbuild strips the types first (interpreter/typescript.ts).
  const tsContext = await warm.createCodeContext({ language: 'ts' });
  await warm.runCode('const n: number = 0; n', { context: tsContext });
  const tsTrips: number[] = [];
  for (let i = 0; i < roundTrips; i++) tsTrips.push(await timed(() => warm.runCode(`const n${i}: number = ${i}; n${i}`, { context: tsContext })));
  rows.push({ name: 'runCode of a TypeScript cell, round trip', unit: 'ms', p50: percentile(tsTrips, 50), p95: percentile(tsTrips, 95) });

  const cold: number[] = [];
  for (let i = 0; i < creates; i++) {
    const t0 = performance.now();
    const sbx = await Sandbox.create();
    await sbx.runCode('1+1');
    cold.push(performance.now() - t0);
    await sbx.kill();
  }
  rows.push({ name: 'Sandbox.create() (code-interpreter-v1) → first runCode result', unit: 'ms', p50: percentile(cold, 50), p95: percentile(cold, 95), target: 'p50 ≤ 300' });
  rows.push({ name: 'floor: bare jupyter_client kernel start in the sandbox', unit: 'ms', value: floor.start_ms });

  const snapshot = await (await NovitaSandbox.connect(warm.sandboxId)).createSnapshot();
  await warm.kill();
  const fromSnapshot: number[] = [];
  for (let i = 0; i < creates; i++) {
    const t0 = performance.now();
    const sbx = await Sandbox.create(snapshot.snapshotId);
    await sbx.runCode('1+1');
    fromSnapshot.push(performance.now() - t0);
    await sbx.kill();
  }
  rows.push({ name: 'create from a warm code-interpreter snapshot → first runCode result', unit: 'ms', p50: percentile(fromSnapshot, 50), p95: percentile(fromSnapshot, 95) });
  return rows;
}
