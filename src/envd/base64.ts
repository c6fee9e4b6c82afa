// Node 20 lacks Uint8Array.prototype.toBase64 (ES2026). protobuf-es uses it when present and
// otherwise encodes `bytes` fields in plain JS, ~100× slower than Buffer and a heap of garbage:
// that made process output (base64 in every Connect JSON frame) envd's bottleneck. Provide the
// standard method from Buffer; imported before protobuf-es is loaded, which captures it.
type ToBase64Options = { alphabet?: 'base64' | 'base64url'; omitPadding?: boolean };

function toBase64(this: Uint8Array, options: ToBase64Options = {}): string {
  const url = options.alphabet === 'base64url';
  let text = Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString(url ? 'base64url' : 'base64');
  // Buffer pads 'base64' and never pads 'base64url'; the standard pads both unless told not to.
  if (options.omitPadding) text = text.replace(/=+$/, '');
  else if (url) text += '='.repeat((4 - (text.length % 4)) % 4);
  return text;
}

if (typeof (Uint8Array.prototype as { toBase64?: unknown }).toBase64 !== 'function') {
  Object.defineProperty(Uint8Array.prototype, 'toBase64', { value: toBase64, writable: true, configurable: true });
}
