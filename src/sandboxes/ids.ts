// Sandbox ids and access tokens.
import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** 20 lowercase letters and digits, like the hosted product's ids; also a valid host-name label. */
export function newSandboxId(): string {
  const bytes = randomBytes(20);
  let id = alphabet[bytes[0]! % 26]!; // a letter first, so the id never looks like a number
  for (let i = 1; i < 20; i++) id += alphabet[bytes[i]! % alphabet.length];
  return id;
}

export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}
