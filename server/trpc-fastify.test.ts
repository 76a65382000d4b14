import { initTRPC, TRPCError } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fastifyTRPCBufferedPlugin } from './trpc-fastify.ts';

// isDev off: stacks would differ by the adapter's own frames.
const t = initTRPC.create({ transformer: superjson, isDev: false });
const router = t.router({
  hello: t.procedure
    .input(z.object({ name: z.string().min(1) }))
    .query(({ input }) => ({ greeting: `Hello ${input.name}`, at: new Date(0) })),
  add: t.procedure.input(z.object({ a: z.number(), b: z.number() })).mutation(({ input }) => input.a + input.b),
  conflict: t.procedure.query(() => {
    throw new TRPCError({ code: 'CONFLICT', message: 'already taken' });
  }),
});

async function appWith(plugin: typeof fastifyTRPCPlugin): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(plugin, { prefix: '/trpc', trpcOptions: { router, createContext: () => ({}) } });
  await app.ready();
  return app;
}

let stock: FastifyInstance;
let buffered: FastifyInstance;
beforeAll(async () => {
  stock = await appWith(fastifyTRPCPlugin);
  buffered = await appWith(fastifyTRPCBufferedPlugin);
});
afterAll(async () => {
  await stock.close();
  await buffered.close();
});

const input = (value: unknown) => encodeURIComponent(JSON.stringify(superjson.serialize(value)));
const batchInput = (values: unknown[]) =>
  encodeURIComponent(JSON.stringify(Object.fromEntries(values.map((v, i) => [i, superjson.serialize(v)]))));

const cases: [string, InjectOptions][] = [
  ['a single query', { method: 'GET', url: `/trpc/hello?input=${input({ name: 'Ada' })}` }],
  [
    'a batch',
    { method: 'GET', url: `/trpc/hello,hello?batch=1&input=${batchInput([{ name: 'Ada' }, { name: 'Bo' }])}` },
  ],
  [
    'a batch with a failing call',
    { method: 'GET', url: `/trpc/hello,conflict?batch=1&input=${batchInput([{ name: 'Ada' }, null])}` },
  ],
  ['invalid input', { method: 'GET', url: `/trpc/hello?input=${input({ name: '' })}` }],
  ['a procedure error', { method: 'GET', url: '/trpc/conflict' }],
  ['an unknown procedure', { method: 'GET', url: '/trpc/nope' }],
  [
    'a mutation',
    {
      method: 'POST',
      url: '/trpc/add',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(superjson.serialize({ a: 2, b: 3 })),
    },
  ],
  ['a mutation sent as GET', { method: 'GET', url: `/trpc/add?input=${input({ a: 2, b: 3 })}` }],
  [
    'a malformed JSON body',
    { method: 'POST', url: '/trpc/add', headers: { 'content-type': 'application/json' }, payload: '{"json":' },
  ],
  ['bad URL encoding', { method: 'GET', url: '/trpc/hello?input=%E0%A4%A' }],
];

const comparableHeaders = (headers: Record<string, unknown>) => {
  const {
    date: _d,
    'content-length': _l,
    'transfer-encoding': _t,
    connection: _c,
    'keep-alive': _k,
    ...rest
  } = headers;
  return rest;
};

describe('buffered tRPC adapter', () => {
  it.each(cases)('answers %s exactly as the stock plugin', async (_name, request) => {
    const [expected, actual] = await Promise.all([stock.inject(request), buffered.inject(request)]);
    expect(actual.statusCode).toBe(expected.statusCode);
    expect(actual.body).toBe(expected.body);
    expect(comparableHeaders(actual.headers)).toEqual(comparableHeaders(expected.headers));
  });

  it('sends a complete answer in one piece with its length', async () => {
    const response = await buffered.inject(cases[0]![1]);
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(response.body)));
    expect(response.headers['transfer-encoding']).toBeUndefined();
    expect(superjson.deserialize((JSON.parse(response.body) as { result: { data: never } }).result.data)).toEqual({
      greeting: 'Hello Ada',
      at: new Date(0),
    });
  });
});
