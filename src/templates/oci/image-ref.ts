// Image references as users write them after Dockerfile's FROM (`debian:bookworm`, `ubuntu`,
// `127.0.0.1:5000/app:v1`, `name@sha256:…`), normalized the way Docker does: no registry means
// Docker Hub, and a one-part Docker Hub name is an official image under `library/`.

export const DOCKER_HUB = 'docker.io';

export interface ImageRef {
  /** `host[:port]`; Docker Hub is `docker.io`. */
  registry: string;
  /** Path in the registry, e.g. `library/debian`. */
  repository: string;
  /** `latest` when neither a tag nor a digest is given; null for a bare `name@digest`. */
  tag: string | null;
  /** `sha256:<64 hex>` when pinned; it wins over the tag. */
  digest: string | null;
}

// Grammar of github.com/distribution/reference, trimmed to what registries accept.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

function invalid(ref: string, why: string): Error {
  return new Error(`invalid image reference "${ref}": ${why} (expected e.g. debian:bookworm, registry.example.com:5000/team/app:v1 or name@sha256:<64 hex digits>)`);
}

export function parseImageRef(ref: string): ImageRef {
  const text = ref.trim();
  if (text === '') throw invalid(ref, 'it is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw invalid(ref, 'give the image name without a scheme such as docker://');

  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, `"${digest}" is not a sha256 digest`);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `"${tag}" is not a valid tag`);
  }

  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  // As in Docker: the first part names a registry only if it looks like a host.
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost' || parts[0] !== parts[0]!.toLowerCase())) {
    registry = parts.shift()!;
    if (!DOMAIN.test(registry)) throw invalid(ref, `"${registry}" is not a registry host[:port]`);
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      throw invalid(ref, part === '' ? 'the repository name is missing or has an empty part' : part !== part.toLowerCase() ? `repository name "${part}" must be lowercase` : `"${part}" is not a valid repository name part`);
    }
  }
  if (tag === null && digest === null) tag = 'latest';
  return { registry, repository: parts.join('/'), tag, digest };
}

/** `registry/repository[:tag][@digest]`, as skopeo's docker:// transport takes it; `registry`
 *  replaces the image's own (a mirror). */
export function formatImageRef(ref: ImageRef, registry = ref.registry): string {
  return `${registry}/${ref.repository}${ref.tag !== null ? `:${ref.tag}` : ''}${ref.digest !== null ? `@${ref.digest}` : ''}`;
}

/** The reference a registry is asked for: by digest when pinned (the tag then only names it for
 *  people; skopeo refuses both at once), else by tag. */
export function registryRef(ref: ImageRef, registry = ref.registry): string {
  return ref.digest !== null ? `${registry}/${ref.repository}@${ref.digest}` : formatImageRef(ref, registry);
}

export interface PullSource {
  registry: string;
  mirror: boolean;
}

/** `host[:port]` of a configured registry, also when written as a URL as in Docker's daemon.json
 *  (`https://mirror.gcr.io/`). */
export function registryHost(setting: string): string {
  return setting.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

/** Registries to try in order: for a Docker Hub image each mirror first (as Docker's
 *  `registry-mirrors`, which mirror Docker Hub only), then the image's own registry. */
export function pullSources(ref: ImageRef, registryMirrors: readonly string[]): PullSource[] {
  const mirrors = ref.registry === DOCKER_HUB ? registryMirrors.map(registryHost).filter((m) => m !== '' && m !== DOCKER_HUB) : [];
  return [...mirrors.map((registry) => ({ registry, mirror: true })), { registry: ref.registry, mirror: false }];
}
