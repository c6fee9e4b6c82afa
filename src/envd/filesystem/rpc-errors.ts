// Turning filesystem failures into the Connect codes the SDKs map to their error classes
// (protocol §4.4: not_found ⇒ FileNotFoundError, invalid_argument ⇒ InvalidArgumentError, ...).
import { Code, ConnectError } from '@connectrpc/connect';
import { PathError } from './paths.js';

export function fsError(err: unknown, p: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof PathError) return new ConnectError(err.message, Code.InvalidArgument);
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return new ConnectError(`path '${p}' not found`, Code.NotFound);
    case 'ENOTDIR':
      return new ConnectError(`a component of path '${p}' is not a directory`, Code.InvalidArgument);
    case 'EISDIR':
      return new ConnectError(`path '${p}' is a directory`, Code.InvalidArgument);
    case 'ENAMETOOLONG':
      return new ConnectError(`path '${p}' is too long`, Code.InvalidArgument);
    case 'ELOOP':
      return new ConnectError(`path '${p}' has too many levels of symbolic links`, Code.InvalidArgument);
    case 'EINVAL':
      // rename(2): a directory moved into itself.
      return new ConnectError(`invalid operation on '${p}': ${e.message}`, Code.InvalidArgument);
    case 'EEXIST':
      return new ConnectError(`path '${p}' already exists`, Code.AlreadyExists);
    case 'EACCES':
    case 'EPERM':
      return new ConnectError(`permission denied for '${p}'`, Code.PermissionDenied);
    case 'ENOSPC':
      return new ConnectError(`not enough disk space for '${p}'`, Code.ResourceExhausted);
    default:
      return new ConnectError(`error on '${p}': ${e.message ?? String(err)}`, Code.Internal);
  }
}
