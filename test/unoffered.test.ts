// What Sandcastle does not offer yet answers 501 with the SDK's error body and says so: secrets,
// workload identity (`iam`) and the MCP gateway (`mcp`), driven through the unmodified e2b SDK.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sandbox, Secret } from 'e2b';
import { apiFetch, useTestServer } from './support/server-process.js';

const server = useTestServer().current;

/** The error a call threw; fails when it did not throw. */
async function thrown(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (err) {
    return err as Error;
  }
  assert.fail('the call succeeded');
}

describe('features Sandcastle does not offer yet', () => {
  it('secrets: list, create, get, update and delete answer 501 saying so', async () => {
    for (const call of [
      () => Secret.list().nextItems(),
      () => Secret.create('openai-api-key', 'sk-1'),
      () => Secret.getInfo('openai-api-key'),
      () => Secret.update('openai-api-key', 'sk-2'),
      () => Secret.destroy('openai-api-key'),
    ]) {
      const err = await thrown(call);
      assert.match(err.message, /^501: secrets .* not offered by Sandcastle yet/s, err.message);
    }
    const res = await apiFetch(server(), '/secrets');
    assert.equal(res.status, 501);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 501);
    assert.match(body.message, /not offered by Sandcastle yet/);
  });

  it('create with `iam` or `mcp` answers 501 and leaves no sandbox', async () => {
    const before = (await Sandbox.list().nextItems()).length;
    const iam = await thrown(() =>
      Sandbox.create({ iam: { tokens: { aws: Secret.iamToken({ audience: 'sts.amazonaws.com', tokenType: 'JWT-SVID' }) } } }),
    );
    assert.match(iam.message, /501.*workload identity tokens .* not offered by Sandcastle yet/s, iam.message);
    const mcp = await thrown(() => Sandbox.create({ mcp: { exa: { apiKey: 'k' } } }));
    assert.match(mcp.message, /501.*MCP gateways .* not offered by Sandcastle yet/s, mcp.message);
    assert.equal((await Sandbox.list().nextItems()).length, before);
  });
});
