// CPU per operation of per-delivery hot spots found in the CPU profile of `npm run bench`, each
// measured on its own against its alternative: the payload codec (one HKDF per payload → one derived
// key per salt; kept), its IV (randomBytes(12) per payload → use count + pooled random bytes; kept),
// the SQLite statement (prepared per query → once per SQL text; kept), the failed-key read every
// request with a key makes (built through Kysely → compiled once; kept), the JSON depth check (a
// loop over every char → indexOf to each string's end; kept) and a call into the workflow vm (with the
// SDK's watchdog timeout → without; measured, not the default, see src/temporal/watchdog-free-worker.ts).
// Writes bench/results/hot-path.md.
//
//   npx tsx bench/hot-path.ts
import { createCipheriv, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import SQLite from 'better-sqlite3';
import { DefaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { loadKeyRing } from '../src/crypto/keyring.ts';
import { jsonDepth } from '../src/json-depth.ts';
import { createStore } from '../src/store/index.ts';
import { createEncryptionCodec } from '../src/temporal/codec.ts';
import { withStatementCache } from '../src/store/statement-cache.ts';
import { callCompleted } from '../test/support/events.ts';

const N = Number(process.env.BENCH_RUNS ?? 20_000);

/** Mean CPU time (user + system, all threads) per call, in µs, after a warm-up. */
async function cpuPerCall(f: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(2000, N); i++) await f();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

const payload = new DefaultPayloadConverter().toPayload({ event: callCompleted('evt_bench') });
const master = randomBytes(32);
const codec = createEncryptionCodec(loadKeyRing({ masterKeys: `k1:${master.toString('base64')}`, dataDir: '/nonexistent' }));
// Format 1 as it was: the serialized payload, a fresh HKDF (key + IV) per payload, AES-256-GCM.
const format1 = () => {
  const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
  const okm = Buffer.from(hkdfSync('sha256', master, randomBytes(32), 'voiceoi/temporal-payload/v1', 44));
  const cipher = createCipheriv('aes-256-gcm', okm.subarray(0, 32), okm.subarray(32), { authTagLength: 16 });
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
};

// Format 2 as it was until 2026-12-01: the same derived key, a randomBytes(12) IV per payload.
const derivedKey = createSecretKey(Buffer.from(hkdfSync('sha256', master, randomBytes(16), 'voiceoi/temporal-payload/v1', 32)));
const salt = randomBytes(16);
const format2RandomIv = () => {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derivedKey, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from('voiceoi/temporal-payload/v1.2.k1', 'utf8'));
  const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
  return Buffer.concat([Uint8Array.of(2), salt, iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
};

// The JSON depth check as it was: every char of the body through one loop, strings included.
const charLoopDepth = (text: string, limit: number): number => {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
};
const body = JSON.stringify(callCompleted('evt_bench'));

// The failed-key read of a request with a key, on the product's SQLite store (a file, as in production).
const storeDir = mkdtempSync(join(tmpdir(), 'voiceoi-hot-path-'));
const store = await createStore({ file: join(storeDir, 'hooks.db'), keyRing: loadKeyRing({ masterKeys: `k1:${master.toString('base64')}`, dataDir: storeDir }) });
await store.keyFailures.record('someone-else', 60_000);
const kyselyRead = (key: string) =>
  store.db
    .selectFrom('key_failures')
    .select(['failures', 'window_started_ms'])
    .where('key', '=', key)
    .where('window_started_ms', '>', Date.now() - 60_000)
    .executeTakeFirst();

const db = new SQLite(':memory:');
db.exec('CREATE TABLE destinations (id TEXT PRIMARY KEY, account_id TEXT, url TEXT, secret BLOB, paused INTEGER, mapping_id TEXT)');
db.prepare("INSERT INTO destinations VALUES ('dst_1', 'acc_1', 'https://crm.example/hook', x'00', 0, NULL)").run();
const query = 'select "id", "account_id", "url", "secret", "paused", "mapping_id" from "destinations" where "id" = ? and "account_id" = ?';
const cached = withStatementCache(db);

const context = vm.createContext({ n: 0 });
const script = new vm.Script('n++');

const rows: Array<[string, string, number, string]> = [
  ['payload codec, encode one event payload', 'one HKDF per payload (format 1)', await cpuPerCall(format1), 'derived key per salt (format 2)'],
  ['', '', await cpuPerCall(() => codec.encode([payload])), ''],
  ['payload codec, encode one event payload', 'randomBytes(12) IV per payload', await cpuPerCall(format2RandomIv), 'use count + pooled random IV (codec.encode)'],
  ['', '', await cpuPerCall(() => codec.encode([payload])), ''],
  [`JSON depth check of an event body (${body.length} chars)`, 'a loop over every char', await cpuPerCall(() => charLoopDepth(body, 64)), 'indexOf to each string\'s end'],
  ['', '', await cpuPerCall(() => jsonDepth(body, 64)), ''],
  ['failed-key read of a request with a key (SQLite file)', 'query built through Kysely', await cpuPerCall(() => kyselyRead('a-producer')), 'compiled once (store.keyFailures.read)'],
  ['', '', await cpuPerCall(() => store.keyFailures.read('a-producer', 60_000)), ''],
  ['SQLite, read a destination row', 'prepare + run', await cpuPerCall(() => db.prepare(query).all(['dst_1', 'acc_1'])), 'cached statement + run'],
  ['', '', await cpuPerCall(() => cached.prepare(query).all(['dst_1', 'acc_1'])), ''],
  ['call into the workflow vm (before is kept)', 'runInContext({ timeout: 5000 })', await cpuPerCall(() => script.runInContext(context, { timeout: 5000 })), 'runInContext()'],
  ['', '', await cpuPerCall(() => script.runInContext(context)), ''],
];
await store.close();
rmSync(storeDir, { recursive: true, force: true });
const lines: string[] = [];
for (let i = 0; i < rows.length; i += 2) {
  const [what, before, b, after] = rows[i]!;
  const a = rows[i + 1]![2];
  lines.push(`| ${what} | ${before} | ${b.toFixed(1)} | ${after} | ${a.toFixed(1)} | ${(b / a).toFixed(1)}× |`);
}
const report = [
  '# Hot-path CPU per operation',
  '',
  `\`npx tsx bench/hot-path.ts\`, ${new Date().toISOString().slice(0, 16)}Z: Node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model.trim()}),`,
  `1-min load average ${loadavg()[0]!.toFixed(1)}; ${N} calls each, mean CPU time (user + system, all threads) per call.`,
  '',
  '| operation | before | µs CPU | after | µs CPU | ratio |',
  '|---|---|---:|---|---:|---:|',
  ...lines,
  '',
  'A delivery encodes or decodes several payloads (workflow input, transform input and output, attempt input',
  'and result, workflow result), runs several SQLite statements (API key, destinations, event claim, the',
  'attempt\'s destination read) and enters the workflow vm several times per activation (activate, conclude,',
  'sink calls, condition checks): these showed up in the CPU profile of `npm run bench`',
  '(bench/README.md, "Where the CPU goes"). The watchdog\'s cost is a thread created and joined per call;',
  'it stays on (the SDK\'s deadlock detector): src/temporal/watchdog-free-worker.ts says why.',
  'The IV: 4 bytes of the derived key\'s use count, unique per key by construction, then 8 random bytes from',
  'a pool refilled once per 256 payloads (src/temporal/codec.ts says why that keeps every IV distinct).',
  'Every request that presents an API key reads its address\'s failed-key window (a point query by primary',
  'key, never cached: a lock-out counted on another replica must hold at once, test/auth-rate-limit-shared.test.ts).',
  '',
].join('\n');
writeFileSync(new URL('./results/hot-path.md', import.meta.url), report);
console.log(report);
