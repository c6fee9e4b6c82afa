// The parts of OCI / Docker manifests, manifest lists and image configs a pull needs: which
// platform's image to take, each layer's compression, and the run settings of the image.

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

const LIST_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** Registries may leave `mediaType` out of an index; its `manifests` array tells it apart. */
export function isManifestList(doc: { mediaType?: string; manifests?: unknown }): boolean {
  return doc.mediaType !== undefined ? LIST_TYPES.has(doc.mediaType) : Array.isArray(doc.manifests);
}

/** Go's names for Node's `process.arch`, as image platforms spell them. */
export function hostArchitecture(arch: string = process.arch): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

/** The entry of a manifest list for linux on `architecture`. Among several, the plain one (no
 *  variant, or amd64 v1 / arm64 v8) wins over ones built for newer CPUs. */
export function choosePlatform(list: { manifests?: Descriptor[] }, image: string, architecture: string): Descriptor {
  const entries = list.manifests ?? [];
  const matching = entries.filter((m) => m.platform?.os === 'linux' && m.platform.architecture === architecture);
  const plain = matching.find((m) => [undefined, '', 'v1', 'v8'].includes(m.platform?.variant));
  const chosen = plain ?? matching[0];
  if (!chosen) {
    const offered = entries.map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}${m.platform?.variant ? `/${m.platform.variant}` : ''}`);
    throw new Error(`image ${image} has no linux/${architecture} variant (it offers ${offered.join(', ') || 'none'})`);
  }
  return chosen;
}

export type Compression = 'none' | 'gzip' | 'zstd';

/** A layer's compression from its media type (OCI and Docker names). */
export function layerCompression(mediaType: string, image: string): Compression {
  if (/\+encrypted$/.test(mediaType)) throw new Error(`image ${image} has an encrypted layer (${mediaType}), which Sandcastle cannot unpack`);
  if (/(\+|\.)gzip$/.test(mediaType)) return 'gzip';
  if (/(\+|\.)zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$/.test(mediaType)) return 'none';
  throw new Error(`image ${image} has a layer of media type ${mediaType}, which is not a layer archive Sandcastle can unpack`);
}

export interface RawConfig {
  config?: { Env?: string[] | null; Cmd?: string[] | null; Entrypoint?: string[] | null; WorkingDir?: string; User?: string } | null;
}

/** The run settings of an image config blob; empty strings mean unset. */
export interface ImageConfig {
  env: string[];
  cmd: string[] | null;
  entrypoint: string[] | null;
  workingDir: string | null;
  user: string | null;
}

export function imageConfig(raw: RawConfig): ImageConfig {
  const c = raw.config ?? {};
  return {
    env: c.Env ?? [],
    cmd: c.Cmd ?? null,
    entrypoint: c.Entrypoint ?? null,
    workingDir: c.WorkingDir || null,
    user: c.User || null,
  };
}
