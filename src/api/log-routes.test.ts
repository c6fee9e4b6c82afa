import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatEnvdLogLine, parseEnvdLog } from '../envd/log-file.js';

test("envd's log lines round-trip; lines a sandbox process wrote badly are skipped", () => {
  const line = { timestamp: 1_700_000_000_000, level: 'warn' as const, message: 'process 7 ended: exit status 3', fields: { pid: '7', exitCode: '3' } };
  const text = `${formatEnvdLogLine(line)}not json\n{"t":"soon","level":"info","msg":"x"}\n{"t":1,"level":"loud","msg":"x"}\n{"t":2,"level":"info","msg":"n","pid":7}\n`;
  assert.deepEqual(parseEnvdLog(text), [line, { timestamp: 2, level: 'info', message: 'n', fields: { pid: '7' } }]);
});
