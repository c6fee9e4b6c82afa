// envd's `Headers`: a plain JavaScript class instead of Node's own. Node's global `Headers` lives in
// its bundled fetch implementation (undici), which the first use loads whole: 17 ms of CPU, paid by
// every sandbox's first command (Connect builds its request headers with it). envd uses no other
// part of fetch. Imported first by main.ts, before anything can touch the global.
import { Headers } from 'headers-polyfill';

Object.defineProperty(globalThis, 'Headers', { value: Headers, writable: true, configurable: true, enumerable: false });
