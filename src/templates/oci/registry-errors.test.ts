import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainRegistryFailure, skopeoMessage } from './registry-errors.js';

// skopeo 1.9's output for each case, as captured against docker-registry 2.8.
const fatal = (msg: string) => `time="2026-12-03T12:02:51Z" level=fatal msg="${msg.replaceAll('"', '\\"')}"\n`;
const ctx = { image: '127.0.0.1:5099/small:t', registry: '127.0.0.1:5099' };

test('the message of the fatal line is unescaped', () => {
  assert.equal(skopeoMessage(fatal('a "quoted" b')), 'a "quoted" b');
  assert.equal(skopeoMessage('plain text\n'), 'plain text');
});

test('an unknown tag or repository names the image and quotes the registry', () => {
  const stderr = fatal('Error parsing image name "docker://127.0.0.1:5099/small:nope": reading manifest nope in 127.0.0.1:5099/small: manifest unknown: manifest unknown');
  assert.equal(explainRegistryFailure(stderr, ctx), 'image 127.0.0.1:5099/small:t not found: registry 127.0.0.1:5099 answered "manifest unknown"');
});

test('an unreachable registry is named with the cause', () => {
  const stderr = fatal('Error parsing image name "docker://127.0.0.1:1/x:t": pinging container registry 127.0.0.1:1: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused');
  assert.equal(explainRegistryFailure(stderr, { ...ctx, registry: '127.0.0.1:1' }), 'cannot reach registry 127.0.0.1:1 to pull 127.0.0.1:5099/small:t: connect: connection refused');
  const dns = fatal('pinging container registry reg.invalid: Get "https://reg.invalid/v2/": dial tcp: lookup reg.invalid on 10.0.0.2:53: no such host');
  assert.match(explainRegistryFailure(dns, { ...ctx, registry: 'reg.invalid' }), /^cannot reach registry reg\.invalid .*no such host$/);
});

test('refused credentials say so; missing ones ask for them', () => {
  const stderr = fatal('Error parsing image name "docker://127.0.0.1:5099/small:t": reading manifest t in 127.0.0.1:5099/small: unauthorized: authentication required');
  assert.equal(
    explainRegistryFailure(stderr, { ...ctx, username: 'alice' }),
    'registry 127.0.0.1:5099 refused the credentials of user "alice" for 127.0.0.1:5099/small:t (it answered "unauthorized: authentication required")',
  );
  assert.match(explainRegistryFailure(stderr, ctx), /requires credentials to pull 127\.0\.0\.1:5099\/small:t/);
  const hub = fatal('initializing source docker://x: unable to retrieve auth token: invalid username/password: unauthorized: incorrect username or password');
  assert.match(explainRegistryFailure(hub, { ...ctx, username: 'bob' }), /refused the credentials of user "bob"/);
});

test('Docker Hub denial of an unknown or private repository', () => {
  const hub = { image: 'docker.io/library/nosuchimage:latest', registry: 'docker.io' };
  const stderr = fatal('reading manifest latest in docker.io/library/nosuchimage: requested access to the resource is denied');
  assert.match(explainRegistryFailure(stderr, hub), /denied access to docker\.io\/library\/nosuchimage:latest: the image does not exist or needs other credentials/);
  const both = fatal('reading manifest latest in docker.io/library/nosuchimage: errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required\n');
  assert.match(explainRegistryFailure(both, { ...hub, username: 'bob' }), /denied access to docker\.io\/library\/nosuchimage:latest for user "bob": the image does not exist.*\(it answered "denied: requested access to the resource is denied unauthorized: authentication required"\)$/);
});

test('plain HTTP and untrusted certificates point at the insecure registries setting', () => {
  const http = fatal('pinging container registry 127.0.0.1:5099: Get "https://127.0.0.1:5099/v2/": http: server gave HTTP response to HTTPS client');
  assert.match(explainRegistryFailure(http, ctx), /serves plain HTTP.*SANDCASTLE_INSECURE_REGISTRIES/);
  const tls = fatal('pinging container registry 127.0.0.1:5099: Get "https://127.0.0.1:5099/v2/": x509: certificate signed by unknown authority');
  assert.match(explainRegistryFailure(tls, ctx), /TLS certificate of registry 127\.0\.0\.1:5099 is not trusted.*SANDCASTLE_INSECURE_REGISTRIES/);
});

test('anything else keeps skopeo\'s message', () => {
  assert.equal(explainRegistryFailure(fatal('something odd'), ctx), 'pulling 127.0.0.1:5099/small:t from registry 127.0.0.1:5099 failed: something odd');
});
