// Everything behind envd's core endpoints: the file API and the Connect-RPC services. Loaded on
// demand (see server.ts) because building the protobuf and Connect machinery is most of envd's
// start-up cost.
import { fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createConnectRouter } from '@connectrpc/connect';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import { createAsyncIterable } from '@connectrpc/connect/protocol';
import { errorToJsonBytes, parseContentType } from '@connectrpc/connect/protocol-connect';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleFiles } from './http/files-http.js';
import { filesystemService } from './filesystem/filesystem-service.js';
import { Filesystem } from './gen/envd/filesystem_pb.js';
import { Process } from './gen/envd/process_pb.js';
import { sendError } from './http/http-util.js';
import { processService } from './process/process-service.js';
import { authInterceptor } from './rpc-auth.js';
import { refreshUsers } from './users.js';

const router = createConnectRouter({
  interceptors: [authInterceptor],
  jsonOptions: { ignoreUnknownFields: true },
  // The SDKs speak Connect only, uncompressed (protocol §4.4).
  grpc: false,
  grpcWeb: false,
  acceptCompression: [],
});
router.service(Process, processService);
router.service(Filesystem, filesystemService);
const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));

function sendConnectError(res: ServerResponse, status: number, err: ConnectError): void {
  const body = errorToJsonBytes(err, {});
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.byteLength });
  res.end(body);
}

/** The whole body, or undefined when the client went away before sending it. */
async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk);
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks);
}

/** Serves one Connect call, as connect-node's adapter does, with two answers of its own. */
async function rpc(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const handler = handlers.get(pathname);
  if (!handler) return sendError(res, 404, `no route for ${req.method} ${pathname}`);
  let uReq;
  try {
    uReq = universalRequestFromNodeRequest(req, res, undefined, undefined);
  } catch (err) {
    // No Host, or one that makes no URL: a request no Connect client sends.
    return sendConnectError(res, 400, new ConnectError(`malformed request: ${(err as Error).message}`, Code.InvalidArgument));
  }
  const type = parseContentType(req.headers['content-type'] ?? null);
  const encoding = req.headers['content-encoding'];
  if (handler.method.methodKind === 'unary' && req.method === 'POST' && type?.binary && !type.stream && (!encoding || encoding === 'identity')) {
    // connect-es reports a body that is not protobuf as `internal` (500); it is the client's
    // mistake, `invalid_argument` (400), as connect-go (the real envd) answers.
    const bytes = await readAll(uReq.body as AsyncIterable<Uint8Array>);
    if (!bytes) return void res.destroy();
    try {
      fromBinary(handler.method.input, bytes);
    } catch (err) {
      return sendConnectError(res, 400, new ConnectError(`parse binary: ${(err as Error).message}`, Code.InvalidArgument));
    }
    uReq = { ...uReq, body: createAsyncIterable([bytes]) };
  }
  const uRes = await handler(uReq);
  try {
    await universalResponseToNodeResponse(uRes, res);
  } catch (err) {
    // The client went away mid-answer: nothing is left to tell it.
    if (ConnectError.from(err).code !== Code.Aborted) res.destroy();
  }
}

export async function handleServices(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  refreshUsers();
  if (url.pathname === '/files') return handleFiles(req, res, url.searchParams);
  return rpc(req, res, url.pathname);
}
