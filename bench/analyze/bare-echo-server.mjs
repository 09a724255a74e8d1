// Baseline for bench/analyze: a bare Fastify route that echoes the JSON body.
import Fastify from 'fastify';

const app = Fastify();
app.get('/readyz', async () => ({ status: 'ok' }));
app.post('/echo', async (request) => request.body);
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
