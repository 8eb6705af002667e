// The JavaScript that runs inside every fresh sandbox context before the engineer's module: it
// provides `console`, calls the transform, and serialises the outcome to one JSON string. It is
// all the sandbox has: no Reference, ExternalCopy or host function ever enters a context, input
// arrives as a JSON string global and the outcome leaves as a string.
//
// It captures the intrinsics it relies on before user code runs, so a mapping that patches
// Array.prototype or JSON only breaks its own result, never the shape the host parses. Whatever
// the string says, the host still checks it (result-shape.ts).
//
// Protocol (host side: isolate-pool.ts):
//   globalThis.__voiceoi_input = '{"event":…,"ctx":…,"limits":…}'   (set by the host)
//   __voiceoi.run(function (exports, module) { <module> })          (the compiled mapping)
//     → the outcome JSON, or "P" while the transform's promise is pending
//   __voiceoi.collect()  → the outcome JSON, or "P": microtasks have all run by the time the host
//                          asks, and nothing else can settle a promise in here (no timers, no I/O),
//                          so "P" means the promise can never settle.
//   __voiceoi.logs()     → the captured lines as a JSON array (after a timeout).

export const PENDING = 'P';
/** Intl objects one run may create (their ICU memory is not counted by the heap limit). */
export const MAX_INTL_OBJECTS_PER_RUN = 500;
export const RUNTIME_FILENAME = 'voiceoi-runtime.js';

export const RUNNER_RUNTIME = String.raw`(function () {
  'use strict';
  const global = globalThis;
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const getPrototypeOf = Object.getPrototypeOf;
  const objectKeys = Object.keys;
  const isArray = Array.isArray;
  const isFiniteNumber = Number.isFinite;
  const toStr = String;
  const strSlice = String.prototype.slice;
  const symbolToString = Symbol.prototype.toString;
  const PromiseCtor = Promise;
  const promiseResolve = Promise.resolve;
  const promiseThen = Promise.prototype.then;
  const objectProto = Object.prototype;
  const ErrorCtor = Error;
  const SetCtor = Set;
  const setHas = Set.prototype.has;
  const setAdd = Set.prototype.add;
  const setDelete = Set.prototype.delete;
  // JSON.stringify turns these into {} (or worse, silently): data would be lost without a word.
  const lossy = [
    [Map, 'a Map'], [Set, 'a Set'], [WeakMap, 'a WeakMap'], [WeakSet, 'a WeakSet'],
    [RegExp, 'a RegExp'], [Promise, 'a Promise (a missing await?)'], [Error, 'an Error'],
    [ArrayBuffer, 'an ArrayBuffer'], [DataView, 'a DataView'], [getPrototypeOf(Uint8Array), 'a typed array'],
  ];

  let limits = { maxResultBytes: 1048576, maxLogLines: 100, maxLogLineBytes: 1024 };
  const lines = [];
  let dropped = 0;

  function slice(s, a, b) { return apply(strSlice, s, [a, b]); }

  // console.log formatting, bounded: a huge object costs at most the line budget.
  function format(value, depth, seen, budget) {
    if (budget.left <= 0) return '…';
    let out;
    switch (typeof value) {
      case 'string': out = depth === 0 ? value : stringify(value); break;
      case 'number': case 'boolean': case 'undefined': out = toStr(value); break;
      case 'bigint': out = toStr(value) + 'n'; break;
      case 'symbol': out = apply(symbolToString, value, []); break;
      case 'function': out = '[Function' + (value.name ? ': ' + toStr(value.name) : '') + ']'; break;
      default: out = formatObject(value, depth, seen, budget);
    }
    budget.left -= out.length;
    return out;
  }

  function formatObject(value, depth, seen, budget) {
    if (value === null) return 'null';
    if (value instanceof ErrorCtor) {
      const stack = value.stack;
      return typeof stack === 'string' ? stack : toStr(value.name) + ': ' + toStr(value.message);
    }
    if (apply(setHas, seen, [value])) return '[Circular]';
    const array = isArray(value);
    if (depth >= 5) return array ? '[Array]' : '[Object]';
    apply(setAdd, seen, [value]);
    let out = array ? '[' : '{';
    const keys = array ? null : objectKeys(value);
    const count = array ? value.length : keys.length;
    for (let i = 0; i < count; i++) {
      if (budget.left - out.length <= 0) { out += (i ? ', ' : '') + '…'; break; }
      const key = array ? i : keys[i];
      const item = format(value[key], depth + 1, seen, budget);
      out += (i ? ', ' : '') + (array ? item : stringify(key) + ': ' + item);
    }
    apply(setDelete, seen, [value]);
    return out + (array ? ']' : '}');
  }

  function log() {
    if (lines.length >= limits.maxLogLines) { dropped++; return; }
    const max = limits.maxLogLineBytes;
    let text = '';
    try {
      const budget = { left: max };
      for (let i = 0; i < arguments.length && text.length <= max; i++) {
        text += (i ? ' ' : '') + format(arguments[i], 0, new SetCtor(), budget);
      }
    } catch (e) {
      text += '[unprintable: ' + safeMessage(e) + ']';
    }
    if (text.length > max) text = slice(text, 0, max - 1) + '…';
    lines[lines.length] = text;
  }
  function leveled(prefix) {
    return function () {
      const args = [prefix];
      for (let i = 0; i < arguments.length; i++) args[args.length] = arguments[i];
      apply(log, undefined, args);
    };
  }

  function safeMessage(e) {
    try { return e !== null && typeof e === 'object' ? toStr(e.message) : toStr(e); } catch (_) { return '?'; }
  }

  function logsJson() {
    let out = '[';
    for (let i = 0; i < lines.length; i++) out += (i ? ',' : '') + stringify(lines[i]);
    if (dropped > 0) out += (lines.length ? ',' : '') + stringify('… ' + dropped + ' more log lines were not captured (limit ' + limits.maxLogLines + ')');
    return out + ']';
  }

  // A problem object with no prototype: stringify finds no (polluted) toJSON on it.
  function problem(code, message, name, stack) {
    const p = { __proto__: null, code: code, message: message };
    if (name !== undefined) p.name = name;
    if (stack !== undefined) p.stack = stack;
    return p;
  }

  function thrown(e) {
    try {
      if (e !== null && typeof e === 'object' && 'message' in e) {
        const stack = typeof e.stack === 'string' ? slice(e.stack, 0, 8192) : undefined;
        return problem('script_error', toStr(e.message), toStr(e.name || 'Error'), stack);
      }
      const budget = { left: 500 };
      return problem('script_error', 'Uncaught ' + format(e, 1, new SetCtor(), budget));
    } catch (_) {
      return problem('script_error', 'Uncaught exception that could not be described');
    }
  }

  class ResultProblem { constructor(holder, key, what) { this.holder = holder; this.key = key; this.what = what; } }

  // Only on the error path: where the offending value sits, as "result.body.items[3].cb".
  function pathOf(root, holder, key) {
    const step = function (path, k) {
      return typeof k === 'number' ? path + '[' + k + ']' : /^[A-Za-z_$][\w$]*$/.test(k) ? path + '.' + k : path + '[' + stringify(k) + ']';
    };
    if (holder !== null && typeof holder === 'object' && key === '' && holder[''] === root && objectKeys(holder).length === 1) return 'result';
    let budget = 100000;
    const seen = new SetCtor();
    const search = function (node, path) {
      if (node === holder) return path;
      if (node === null || typeof node !== 'object' || apply(setHas, seen, [node]) || --budget < 0) return undefined;
      apply(setAdd, seen, [node]);
      if (isArray(node)) {
        for (let i = 0; i < node.length; i++) { const found = search(node[i], step(path, i)); if (found !== undefined) return found; }
      } else {
        const keys = objectKeys(node);
        for (let i = 0; i < keys.length; i++) { const found = search(node[keys[i]], step(path, keys[i])); if (found !== undefined) return found; }
      }
      return undefined;
    };
    let holderPath;
    try { holderPath = search(root, 'result'); } catch (_) { holderPath = undefined; }
    if (holderPath === undefined) return 'property ' + stringify(toStr(key));
    return step(holderPath, isArray(holder) ? Number(key) : toStr(key));
  }

  function checkValue(key, value) {
    switch (typeof value) {
      case 'function':
        throw new ResultProblem(this, key, 'is a function: only JSON (objects, arrays, strings, numbers, booleans, null) can be sent.');
      case 'symbol':
        throw new ResultProblem(this, key, 'is a symbol: only JSON can be sent.');
      case 'bigint':
        throw new ResultProblem(this, key, 'is a BigInt: convert it to a string or a number first.');
      case 'number':
        if (!isFiniteNumber(value)) throw new ResultProblem(this, key, 'is ' + toStr(value) + ', which JSON cannot represent.');
        break;
      case 'object':
        if (value !== null && !isArray(value)) {
          for (let i = 0; i < lossy.length; i++) {
            if (value instanceof lossy[i][0]) throw new ResultProblem(this, key, 'is ' + lossy[i][1] + ', which JSON cannot represent: convert it to plain objects and arrays.');
          }
        }
    }
    return value;
  }

  function serialize(value) {
    if (value === undefined) {
      return { error: problem('invalid_result', 'The transform returned undefined. Return null to skip this delivery, or { body } to send one.') };
    }
    let json;
    try {
      json = stringify(value, checkValue);
    } catch (e) {
      if (e instanceof ResultProblem) return { error: problem('invalid_result', pathOf(value, e.holder, e.key) + ' ' + e.what) };
      if (e instanceof TypeError && /circular/i.test(safeMessage(e))) {
        return { error: problem('invalid_result', 'The result contains a cycle (an object that contains itself), which JSON cannot represent: ' + safeMessage(e)) };
      }
      return { error: thrown(e) };
    }
    if (typeof json !== 'string') return { error: problem('invalid_result', 'The result cannot be represented as JSON.') };
    if (json.length > limits.maxResultBytes) {
      return { error: problem('invalid_result', 'The result is ' + json.length + ' characters of JSON, over the limit of ' + limits.maxResultBytes + ' bytes.') };
    }
    return { json: json };
  }

  let outcome;
  function settle(s) {
    outcome = s.error
      ? '{"ok":false,"error":' + stringify(s.error) + ',"logs":' + logsJson() + '}'
      : '{"ok":true,"result":' + s.json + ',"logs":' + logsJson() + '}';
    return outcome;
  }

  let started = false;
  function run(factory) {
    if (started) throw new ErrorCtor('__voiceoi.run is not for transforms to call');
    started = true;
    const input = parse(global.__voiceoi_input);
    delete global.__voiceoi_input;
    limits = input.limits;
    const module = { exports: {} };
    let transform;
    try {
      apply(factory, undefined, [module.exports, module]);
      transform = module.exports && module.exports.default;
    } catch (e) {
      return settle({ error: thrown(e) });
    }
    if (typeof transform !== 'function') {
      return settle({ error: problem('missing_default_export', 'The module must default-export its transform function: export default function transform(event, ctx) { … }') });
    }
    const c = input.ctx;
    const ctx = freeze({
      destination: freeze(c.destination),
      delivery: freeze(c.delivery),
      mapping: freeze(c.mapping),
      log: log,
    });
    let returned;
    let isThenable = false;
    try {
      returned = transform(input.event, ctx);
      isThenable = returned !== null && (typeof returned === 'object' || typeof returned === 'function') && typeof returned.then === 'function';
    } catch (e) {
      return settle({ error: thrown(e) });
    }
    if (!isThenable) return settle(serialize(returned));
    const promise = apply(promiseResolve, PromiseCtor, [returned]);
    apply(promiseThen, promise, [
      function (value) { settle(serialize(value)); },
      function (e) { settle({ error: thrown(e) }); },
    ]);
    return '${PENDING}';
  }

  function collect() {
    if (outcome !== undefined) return outcome;
    return settle({ error: problem('script_error', 'The transform returned a promise that never settles: nothing inside a transform can resolve it later (there are no timers or I/O), so every await must be on a value or a promise that settles right away.') });
  }

  function logs() { return logsJson(); }

  // Intl objects keep their ICU data outside the V8 heap, where the memory limit does not see it:
  // 100 000 DateTimeFormats kept in an array grew the sandbox process by 2 GB under a 32 MB limit,
  // and even unkept ones are collected too late. So a run may create only so many; every path to
  // a constructor (Intl.X, prototype.constructor, subclasses) goes through the count.
  const MAX_INTL_OBJECTS = ${MAX_INTL_OBJECTS_PER_RUN};
  const construct = Reflect.construct;
  const RangeErrorCtor = RangeError;
  let intlObjects = 0;
  function countIntl(what) {
    if (++intlObjects > MAX_INTL_OBJECTS) {
      throw new RangeErrorCtor('A transform may create at most ' + MAX_INTL_OBJECTS + ' Intl objects per run (this was ' + what + '): their memory is outside its memory limit. Create each formatter once and reuse it.');
    }
  }
  function guardMethod(holder, key, what) {
    const original = holder[key];
    if (typeof original !== 'function') return;
    const guarded = { [what]: function () { countIntl(what); return apply(original, this, arguments); } }[what];
    defineProperty(holder, key, { value: guarded, writable: true, configurable: true, enumerable: false });
  }
  const intl = global.Intl;
  const intlNames = ['Collator', 'DateTimeFormat', 'DisplayNames', 'DurationFormat', 'ListFormat', 'Locale', 'NumberFormat', 'PluralRules', 'RelativeTimeFormat', 'Segmenter'];
  for (let i = 0; i < intlNames.length; i++) {
    const name = intlNames[i];
    const Ctor = intl[name];
    if (typeof Ctor !== 'function') continue;
    const what = 'Intl.' + name;
    const guarded = new Proxy(Ctor, {
      construct: function (target, args, newTarget) { countIntl(what); return construct(target, args, newTarget); },
      apply: function (target, thisArg, args) { countIntl(what); return apply(target, thisArg, args); },
    });
    defineProperty(intl, name, { value: guarded, writable: true, configurable: true, enumerable: false });
    defineProperty(Ctor.prototype, 'constructor', { value: guarded, writable: true, configurable: true, enumerable: false });
  }
  if (typeof intl.Segmenter === 'function') {
    // Each segment() and each iteration over its result clones an ICU break iterator.
    const segments = getPrototypeOf(new intl.Segmenter().segment(''));
    intlObjects = 0;
    guardMethod(intl.Segmenter.prototype, 'segment', 'Intl.Segmenter.prototype.segment');
    guardMethod(segments, Symbol.iterator, 'an iterator over Intl segments');
    guardMethod(segments, 'containing', 'Intl segments containing()');
  }

  const consoleObject = {
    log: log, info: log, debug: log,
    warn: leveled('[warn]'), error: leveled('[error]'),
  };
  // console and __voiceoi are objects, not functions: a context whose global holds a function
  // directly was seen to outlive its release in isolated-vm (see isolate-pool.ts).
  defineProperty(global, 'console', { value: consoleObject, writable: true, configurable: true, enumerable: false });
  defineProperty(global, '__voiceoi', { value: freeze({ run: run, collect: collect, logs: logs }), writable: false, configurable: false, enumerable: false });
})();`;
