// The console's API keys page: list, create (the key is shown once) and delete. The keys live in
// the server's database (as `sandcastle keys` makes them); deleting one signs out its sessions.
import { z } from 'zod';
import { errors } from '../errors.js';
import type { ApiKeyStore } from '../store/api-key-store.js';
import type { ConsoleRoutes } from './console-routes.js';

const createBody = z.object({ name: z.string().trim().min(1).max(100) });

export function registerKeyRoutes(app: ConsoleRoutes, keys: ApiKeyStore | undefined): void {
  const store = () => {
    if (!keys) throw errors.badRequest('this server checks no API keys (SANDCASTLE_AUTH=none)');
    return keys;
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  app.get('/live/keys', (c) => c.json({ checked: keys !== undefined, keys: keys ? keys.list().map((k) => ({ ...k, createdAt: iso(k.createdAt) })) : [] }));

  app.post('/live/keys', async (c) => {
    const body = createBody.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) throw errors.badRequest('give the key a name of 1 to 100 characters: {"name": "…"}');
    const { record, key } = store().create(body.data.name);
    return c.json({ ...record, createdAt: iso(record.createdAt), key }, 201);
  });

  app.delete('/live/keys/:keyId', (c) => {
    const id = c.req.param('keyId');
    if (!store().delete(id)) return c.json({ code: 404, message: `no API key with id '${id}'` }, 404);
    return c.body(null, 204);
  });
}
