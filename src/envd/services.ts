// Everything behind envd's core endpoints: the file API and the Connect-RPC services. Loaded on
// demand (see server.ts) because building the protobuf and Connect machinery is most of envd's
// start-up cost.
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleFiles } from './files-http.js';
import { filesystemService } from './filesystem-service.js';
import { Filesystem } from './gen/envd/filesystem_pb.js';
import { Process } from './gen/envd/process_pb.js';
import { processService } from './process-service.js';
import { authInterceptor } from './rpc-auth.js';

const rpc = connectNodeAdapter({
  routes: (router) => {
    router.service(Process, processService);
    router.service(Filesystem, filesystemService);
  },
  interceptors: [authInterceptor],
  jsonOptions: { ignoreUnknownFields: true },
  // The SDKs speak Connect only, uncompressed (protocol §4.4).
  grpc: false,
  grpcWeb: false,
  acceptCompression: [],
  fallback: (req, res) => {
    const body = JSON.stringify({ code: 404, message: `no route for ${req.method} ${req.url?.split('?')[0]}` });
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(body);
  },
});

export async function handleServices(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (url.pathname === '/files') return handleFiles(req, res, url.searchParams);
  rpc(req, res);
}
