// Access control for the Connect services: the token on every call, and the operation's user
// from Basic auth (or the sandbox's default user).
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { basicAuthUser, tokenAccepted, unauthorizedMessage } from './auth.js';
import { state } from './state.js';
import { lookupUser, type User } from './users.js';

function unknownUser(name: string): ConnectError {
  return new ConnectError(`invalid username: '${name}' does not exist in the sandbox`, Code.Unauthenticated);
}

export const authInterceptor: Interceptor = (next) => async (req) => {
  if (!tokenAccepted(req.header.get('x-access-token'))) throw new ConnectError(unauthorizedMessage, Code.Unauthenticated);
  const name = basicAuthUser(req.header.get('authorization'));
  if (name !== undefined && !lookupUser(name)) throw unknownUser(name);
  return next(req);
};

export function requestUser(headers: Headers): User {
  const name = basicAuthUser(headers.get('authorization')) ?? state.defaultUser;
  const user = lookupUser(name);
  if (!user) throw unknownUser(name);
  return user;
}
