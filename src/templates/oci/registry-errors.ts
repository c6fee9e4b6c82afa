// Turns skopeo's failure output into a sentence that names the image and the registry and says
// what the registry answered: the template build shows it to the user as the build's error.

export interface FailureContext {
  /** The image as normalized, e.g. `docker.io/library/debian:bookworm`. */
  image: string;
  /** The registry that was asked (a mirror or the image's own). */
  registry: string;
  /** The user whose credentials were sent, if any. */
  username?: string;
}

/** The message of skopeo's last log line (`level=fatal msg="…"`), unescaped; the raw text when
 *  it has none. */
export function skopeoMessage(stderr: string): string {
  const matches = [...stderr.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)];
  const last = matches.at(-1)?.[1];
  if (last === undefined) return stderr.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(`"${last}"`) as string;
  } catch {
    return last;
  }
}

/** What the registry said, without skopeo's own preamble (`reading manifest x in y: …`). */
function registryAnswer(message: string): string {
  const m = /(?:reading manifest [^ ]+ in [^ ]+|pinging container registry [^ ]+|reading blob [^ ]+|fetching blob):\s*(.*)$/s.exec(message);
  const answer = (m?.[1] ?? message.replace(/^Error parsing image name "[^"]*":\s*/, '')).replace(/^errors:\s*/, '').replace(/\s+/g, ' ').trim();
  // Registries often repeat the error code as its message: "manifest unknown: manifest unknown".
  return /^(.+): \1$/.exec(answer)?.[1] ?? answer;
}

const NETWORK = /(connect: [a-z ]+|no such host|i\/o timeout|network is unreachable|TLS handshake timeout|connection reset by peer|server misbehaving)/i;

export function explainRegistryFailure(stderr: string, ctx: FailureContext): string {
  const message = skopeoMessage(stderr);
  const answer = registryAnswer(message);
  const network = NETWORK.exec(message);
  if (network) return `cannot reach registry ${ctx.registry} to pull ${ctx.image}: ${network[1]}`;
  if (/HTTP response to HTTPS client/i.test(message)) {
    return `registry ${ctx.registry} serves plain HTTP, not HTTPS: list it in SANDCASTLE_INSECURE_REGISTRIES to pull ${ctx.image} from it`;
  }
  if (/x509:|certificate/i.test(message)) {
    return `the TLS certificate of registry ${ctx.registry} is not trusted (${answer}): list the registry in SANDCASTLE_INSECURE_REGISTRIES to skip the check`;
  }
  const refused = `registry ${ctx.registry} refused the credentials of user "${ctx.username}" for ${ctx.image} (it answered "${answer}")`;
  if (ctx.username !== undefined && /invalid username\/password|incorrect username or password/i.test(message)) return refused;
  // Docker Hub answers "denied" (with "unauthorized" besides) for a repository that does not
  // exist as for one the user may not read.
  if (/denied/i.test(message)) {
    return `registry ${ctx.registry} denied access to ${ctx.image}${ctx.username !== undefined ? ` for user "${ctx.username}"` : ''}: the image does not exist or needs other credentials (it answered "${answer}")`;
  }
  if (/authentication required|unauthorized/i.test(message)) {
    return ctx.username !== undefined
      ? refused
      : `registry ${ctx.registry} requires credentials to pull ${ctx.image} (it answered "${answer}"): give the registry's username and password`;
  }
  if (/manifest unknown|name unknown|not found/i.test(message)) {
    return `image ${ctx.image} not found: registry ${ctx.registry} answered "${answer}"`;
  }
  if (/too many requests|toomanyrequests/i.test(message)) {
    return `registry ${ctx.registry} refused to serve ${ctx.image} for now, too many requests (it answered "${answer}"): retry later or set SANDCASTLE_REGISTRY_MIRRORS`;
  }
  return `pulling ${ctx.image} from registry ${ctx.registry} failed: ${message}`;
}
