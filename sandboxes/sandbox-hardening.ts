// What the sandbox process is started with, so that a transform can reach neither memory that
// isolated-vm's limit does not count nor a secret of the host.
//
// isolated-vm counts the heap and ArrayBuffers allocated through its allocator against an
// isolate's memoryLimit. V8 allocates two kinds of backing store itself, page by page, outside that
// allocator (measured with isolated-vm 5.0.4 on Node 20, 32 MB limit: each ran to success and grew
// the sandbox process by 1 GB):
//   - WebAssembly.Memory (`new WebAssembly.Memory({ initial: 16384 })`, 1 GiB);
//   - resizable ArrayBuffers and growable SharedArrayBuffers (`new ArrayBuffer(0, { maxByteLength })`
//     then `resize()`/`grow()`).
// Both are switched off for the whole process by V8 flags, so no context ever gets a constructor
// for them (there is no other path: V8 installs them on the global object or not at all). Plain
// ArrayBuffer, SharedArrayBuffer and typed arrays stay: their allocation is counted and refused.
//
// The child checks at start that the flags took effect (FORBIDDEN_FEATURES_PROBE) and refuses to
// serve otherwise: a node that ignores or lacks a flag must fail closed, not run transforms unbounded.

export const SANDBOX_V8_FLAGS: readonly string[] = ['--no-expose-wasm', '--no-harmony-rab-gsab'];

/**
 * Evaluated in a context of a fresh isolate in the sandbox process: the JSON list of the features
 * above that are still reachable (empty when the process is safe to serve).
 */
export const FORBIDDEN_FEATURES_PROBE = `(function () {
  const found = [];
  if (typeof WebAssembly !== 'undefined') found.push('WebAssembly');
  try { if (new ArrayBuffer(0, { maxByteLength: 16 }).resizable === true) found.push('resizable ArrayBuffer'); } catch (e) {}
  if (typeof ArrayBuffer.prototype.resize === 'function') found.push('ArrayBuffer.prototype.resize');
  if (typeof SharedArrayBuffer === 'function' && typeof SharedArrayBuffer.prototype.grow === 'function') found.push('SharedArrayBuffer.prototype.grow');
  return JSON.stringify(found);
})()`;

/**
 * The only variables the sandbox process inherits: locale and time zone (Date and Intl inside a
 * transform follow them) and the temporary directory. Everything else (the admin token, the master
 * keys, OAuth2 client secrets, database paths) stays in the parent: a V8 escape in the child must
 * not find a secret lying in its own environment.
 */
const INHERITED = ['TZ', 'LANG', 'LC_ALL', 'TMPDIR'] as const;

export function sandboxEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}
