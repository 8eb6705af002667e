// The `voiceoi` command (package.json bin, through bin/voiceoi.js). One subcommand today: listen.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { listen, ListenRefused } from './listen.ts';

const USAGE = `Usage: voiceoi listen <destination id> --forward-to <url> [options]

Reads a pull destination's live stream and forwards every message to a local URL as the signed
HTTP POST a push destination would receive (webhook-id, webhook-timestamp, webhook-signature and
the exact body), so your receiver verifies it with any Standard Webhooks library and the
destination's signing secret. Prints one line per message and reports each local answer back
(GET /v1/deliveries/:id lists it under "acks"). After a dropped connection it reconnects from the
last message it handled: nothing is lost, nothing is forwarded twice.

Options:
  --forward-to <url>   where to POST each message (e.g. http://localhost:4000/hook)   [required]
  --api-url <url>      the VoiceOI Hooks API (default: $VOICEOI_API_URL)
  --api-key <key>      the account API key (default: $VOICEOI_API_KEY)
  --after <cursor>     replay every message after this cursor first (default: from now on)
  --consumer <name>    the name acks carry (default: voiceoi-listen@<host name>)
  -h, --help           this help

Create a pull destination with:
  curl -X POST "$VOICEOI_API_URL/v1/destinations" -H "Authorization: Bearer $VOICEOI_API_KEY" \\
    -H 'content-type: application/json' -d '{"mode": "pull", "event_types": ["*"]}'
`;

function fail(message: string): never {
  process.stderr.write(`voiceoi: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'forward-to': { type: 'string' },
        'api-url': { type: 'string' },
        'api-key': { type: 'string' },
        after: { type: 'string' },
        consumer: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    return;
  }
  const [command, destinationId, ...extra] = positionals;
  if (command !== 'listen') fail(`unknown command '${command}'`);
  if (!destinationId) fail('name the pull destination to listen to');
  if (extra.length) fail(`unexpected arguments: ${extra.join(' ')}`);
  const forwardTo = values['forward-to'];
  if (!forwardTo || !URL.canParse(forwardTo) || !/^https?:$/.test(new URL(forwardTo).protocol)) fail('--forward-to must be an http:// or https:// URL');
  const apiUrl = values['api-url'] ?? process.env.VOICEOI_API_URL;
  if (!apiUrl || !URL.canParse(apiUrl)) fail('set the API URL with --api-url or VOICEOI_API_URL (e.g. http://127.0.0.1:3000)');
  const apiKey = values['api-key'] ?? process.env.VOICEOI_API_KEY;
  if (!apiKey) fail('set the account API key with --api-key or VOICEOI_API_KEY');

  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
  try {
    await listen({
      apiUrl,
      apiKey,
      destinationId,
      forwardTo,
      after: values.after,
      consumer: values.consumer ?? `voiceoi-listen@${hostname()}`,
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      signal: abort.signal,
    });
  } catch (err) {
    if (!(err instanceof ListenRefused)) throw err;
    process.stderr.write(`voiceoi: ${err.message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
