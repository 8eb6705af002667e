// The floor of the benchmark: the same ingest request (fastify, the catalog's zod validation, a
// bearer token, Standard Webhooks signing, the delivery agent) forwarded straight to the receiver,
// with no store and no Temporal. It answers 202 once the receiver has answered, so nothing is
// durable: it is what propagation costs on this machine before any durability is paid for.
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { request } from 'undici';
import { createDeliveryAgent } from '../src/delivery/http-client.ts';
import { createNetworkPolicy } from '../src/delivery/network-policy.ts';
import { signWebhook } from '../src/delivery/signing.ts';
import { eventEnvelopeSchema, type EventEnvelope } from '../src/events/catalog.ts';

const port = Number(process.env.PORT);
const target = process.env.FLOOR_TARGET_URL;
const token = process.env.FLOOR_TOKEN;
if (!port || !target || !token) throw new Error('PORT, FLOOR_TARGET_URL and FLOOR_TOKEN are required');
const secret = `whsec_${Buffer.from('voiceoi-bench-floor-secret-32byte').toString('base64')}`;

const agent = createDeliveryAgent(createNetworkPolicy({ allowedNetworks: ['127.0.0.0/8'] }));
const app = Fastify({ bodyLimit: 1024 * 1024 }).withTypeProvider<ZodTypeProvider>();
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);

app.addHook('onRequest', async (req, reply) => {
  if (req.url !== '/healthz' && req.headers.authorization !== `Bearer ${token}`) return reply.status(401).send({ code: 'unauthorized' });
});
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/v1/events', { schema: { body: eventEnvelopeSchema } }, async (req, reply) => {
  const event = req.body as EventEnvelope;
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = signWebhook([secret], event.id, timestamp, body);
  const res = await request(target, {
    method: 'POST',
    dispatcher: agent.forAccount([]),
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': event.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
      'x-voiceoi-event': event.type,
    },
  });
  await res.body.dump();
  return reply.status(202).send({ event_id: event.id, forwarded: res.statusCode });
});

await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`floor listening on ${port}\n`);
const stop = () => void app.close().then(() => agent.close()).finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
