// What a template's root filesystem is made of, the built-in recipes, and the hash that decides
// whether a built filesystem is still current.
import { createHash } from 'node:crypto';

/** Bump when the build steps change in a way that alters the result (debootstrap flags, in-root
 *  files the builder writes, clean-up): every template built by an older builder is rebuilt. */
export const ROOTFS_BUILDER_VERSION = 'rootfs-builder/1';

/** Bump when the user/sudo/hosts/login-shell setup inside the root changes. */
export const USER_SETUP_VERSION = 2;

export interface RootfsRecipe {
  /** Debian packages: debootstrap `--include` for a full root filesystem, `apt-get install` for a layer. */
  packages: readonly string[];
  /** Version of the in-root setup (user, sudo, hosts); part of the hash. */
  userSetupVersion: number;
  /** When set, the template is only an overlay layer on top of this template's filesystem,
   *  holding what `apt-get install` changed, instead of a full debootstrap. */
  parent?: { templateId: string; recipe: RootfsRecipe };
}

export const BASE_PACKAGES = [
  'bash', 'sudo', 'python3', 'python3-pip', 'python3-venv', 'curl', 'git', 'ca-certificates',
  // `python` as the product pages use it (`python -m http.server 3000`).
  'python-is-python3',
  'procps', 'less', 'iproute2',
  // PID 1 of every sandbox is /usr/bin/tini.
  'tini',
  // The host's /usr/bin/node is bind-mounted into the sandbox and needs the C++ runtime.
  'libstdc++6',
  // Resolves the sandbox's own host name (set by runc) without an /etc/hosts entry, so sudo
  // never stalls or warns "unable to resolve host".
  'libnss-myhostname',
] as const;

export const baseRecipe: RootfsRecipe = {
  packages: BASE_PACKAGES,
  userSetupVersion: USER_SETUP_VERSION,
};

/** Debian's Jupyter kernel and the usual data stack, layered on `base` so it costs one apt run,
 *  not a second debootstrap, and shares base's files on disk. */
export const codeInterpreterV1Recipe: RootfsRecipe = {
  packages: [
    'python3-ipykernel', 'python3-numpy', 'python3-pandas', 'python3-matplotlib',
    // The SDK's `language: 'r'` (IRkernel): about 35 MiB to fetch, 66 MB in the layer.
    'r-base-core', 'r-cran-irkernel',
  ],
  userSetupVersion: USER_SETUP_VERSION,
  parent: { templateId: 'base', recipe: baseRecipe },
};

export const builtinRecipes: Readonly<Record<string, RootfsRecipe>> = {
  base: baseRecipe,
  'code-interpreter-v1': codeInterpreterV1Recipe,
};

/** sha256 over everything that determines the built filesystem, including the parent's hash so a
 *  rebuilt parent invalidates its children. Package order does not matter. The mirror is left
 *  out on purpose: any mirror of the same suite gives the same system. */
export function recipeHash(recipe: RootfsRecipe): string {
  const canonical = JSON.stringify({
    builder: ROOTFS_BUILDER_VERSION,
    userSetupVersion: recipe.userSetupVersion,
    packages: [...new Set(recipe.packages)].sort(),
    parent: recipe.parent ? { templateId: recipe.parent.templateId, hash: recipeHash(recipe.parent.recipe) } : null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}
