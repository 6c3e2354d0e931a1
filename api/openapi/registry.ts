/**
 * One source of truth for request validation and the OpenAPI 3.1 document: a route is declared once
 * with zod schemas; `addRoute` mounts it with validation, and `openApiDocument` describes it.
 */
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Role } from '../../entities/index.ts';
import { z } from 'zod';
import { AppError } from '../../lib/errors.ts';
import type { RequestState } from '../context.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: Method;
  /** Koa path, e.g. `/api/v1/probe/:id`. */
  path: string;
  operationId: string;
  summary: string;
  /** Requires a bearer token: 'user' = any authenticated user, or the roles allowed. */
  auth?: 'user' | readonly Role[];
  description?: string;
  tags: string[];
  params?: P;
  query?: Q;
  /** JSON body, validated. */
  body?: B;
  /** A non-JSON body (multipart upload), documented but parsed by the handler itself. */
  rawBody?: { contentType: string | string[]; schema: Record<string, unknown>; description?: string };
  responses: Record<number, ResponseSpec>;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export type ApiContext = Context & { state: RequestState };

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable, machine-readable code', example: 'NOT_FOUND' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

function parseOrThrow<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return undefined as z.infer<T>;
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError(422, 'VALIDATION_FAILED', `Invalid ${where}`, {
      details: result.error.issues.map((i) => ({ in: where, path: i.path.join('.'), message: i.message })),
    });
  }
  return result.data;
}

export interface AuthMiddlewares {
  /** Verifies the bearer token and loads the user (then per-user middleware, e.g. rate limits, run). */
  authenticate: Middleware[];
  requireRole: (roles: readonly Role[]) => Middleware;
}

export class ApiRegistry {
  readonly routes: RouteSpec[] = [];
  readonly #auth: AuthMiddlewares;

  constructor(auth: AuthMiddlewares) {
    this.#auth = auth;
  }

  addRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
    router: Router,
    spec: RouteSpec<P, Q, B>,
    handler: (ctx: ApiContext, input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<void>,
  ): void {
    this.routes.push(spec as RouteSpec);
    const guards: Middleware[] = !spec.auth
      ? []
      : [...this.#auth.authenticate, ...(spec.auth === 'user' ? [] : [this.#auth.requireRole(spec.auth)])];
    router[spec.method](spec.operationId, spec.path, ...guards, async (ctx) => {
      const input = {
        params: parseOrThrow(spec.params, ctx.params, 'path parameters'),
        query: parseOrThrow(spec.query, ctx.query, 'query'),
        body: parseOrThrow(spec.body, (ctx.request as { body?: unknown }).body, 'body'),
      };
      await handler(ctx as ApiContext, input);
    });
  }
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query') {
  if (!schema || !(schema instanceof z.ZodObject)) return [];
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.entries(shape).map(([name, field]) => ({
    name,
    in: location,
    required: location === 'path' || !field.safeParse(undefined).success,
    schema: jsonSchema(field),
    ...(field.description ? { description: field.description } : {}),
  }));
}

export function openApiDocument(registry: ApiRegistry, info: { title: string; version: string; description: string; serverUrl: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of registry.routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const schema = response.schema ?? (Number(status) >= 400 ? ErrorSchema : undefined);
      responses[status] = {
        description: response.description,
        ...(schema ? { content: { [response.contentType ?? 'application/json']: { schema: jsonSchema(schema) } } } : {}),
      };
    }
    if (route.auth) {
      responses['401'] ??= { description: 'UNAUTHENTICATED: missing, invalid or expired token, or inactive account', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      if (route.auth !== 'user') {
        responses['403'] ??= { description: `FORBIDDEN: needs one of the roles ${route.auth.join(', ')}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
      responses['429'] ??= { description: 'RATE_LIMITED: per-user budget spent; see Retry-After', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const requestBody = route.body
      ? { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } }
      : route.rawBody
        ? { required: true, description: route.rawBody.description, content: Object.fromEntries([route.rawBody.contentType].flat().map((type) => [type, { schema: route.rawBody!.schema }])) }
        : undefined;
    (paths[toOpenApiPath(route.path)] ??= {})[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      ...(route.auth ? { security: [{ bearerAuth: [] }] } : { security: [] }),
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description },
    servers: [{ url: info.serverUrl }],
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorSchema) },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /api/v1/auth/login' },
      },
    },
  };
}
