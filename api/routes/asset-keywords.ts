/**
 * /api/v1/assets/{id}/keywords — the keywords of an asset — and /api/v1/keywords, the tenant's
 * keywords with how many assets carry each.
 *
 * A keyword is stored as given (NFC, trimmed, inner white space collapsed, case kept) and as its
 * normalized form (the same, lower-case), which is unique per asset: a duplicate after
 * normalization is 409 DUPLICATE_KEYWORD, also when two requests race (the unique index decides).
 * Any user of the tenant may read; writing needs the role admin, manager or editor (a viewer or a
 * plain user gets 403). Another tenant's (or a deleted) asset, and a keyword that is not the
 * asset's, are 404.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { AssetKeyword, type IAssetKeyword, type Role } from '../../entities/index.ts';
import { KEYWORD_SOURCES } from '../../lib/assets/catalogue.ts';
import {
  checkedKeyword, decodeKeywordCursor, encodeKeywordCursor, hasNul, keywordProblem, MAX_CATEGORY_LENGTH, MAX_KEYWORD_LENGTH,
  MAX_KEYWORDS_PER_ASSET, normalizeKeyword, type KeywordCursor,
} from '../../lib/assets/keywords.ts';
import { withDependency } from '../../lib/dependencies.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { AssetIdParams, findTenantAsset } from '../assets/find-asset.ts';
import { currentUser } from '../auth/authenticate.ts';
import type { ApiDeps } from '../context.ts';
import type { ApiRegistry } from '../openapi/registry.ts';

/** Who may add, change and remove keywords and markers (reading is for every user of the tenant). */
export const ANNOTATION_WRITERS: readonly Role[] = ['admin', 'manager', 'editor'];

const KeywordParams = AssetIdParams.extend({ keywordId: z.string().max(64) });

const KeywordTextSchema = z
  .string()
  .max(MAX_KEYWORD_LENGTH * 10, `must be at most ${MAX_KEYWORD_LENGTH} characters`)
  .superRefine((raw, ctx) => {
    const problem = keywordProblem(raw);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: `1–${MAX_KEYWORD_LENGTH} characters once trimmed; compared lower-case, NFC, inner white space collapsed`, example: 'Rio de Janeiro' });
const CategorySchema = z
  .string()
  .trim()
  .min(1, 'must not be empty (send null for none)')
  .max(MAX_CATEGORY_LENGTH, `at most ${MAX_CATEGORY_LENGTH} characters`)
  .refine((c) => !/\p{Cc}/u.test(c), 'must not contain control characters')
  .nullable()
  .meta({ example: 'location' });
const ConfidenceSchema = z.number().min(0, 'between 0 and 1').max(1, 'between 0 and 1').nullable()
  .meta({ description: '0–1 (stored with 3 decimals)', example: 0.87 });
const KeywordSourceSchema = z.enum(KEYWORD_SOURCES);

export const AssetKeywordSchema = z
  .object({
    id: z.uuid(),
    asset_id: z.uuid(),
    keyword: z.string(),
    normalized: z.string(),
    category: z.string().nullable(),
    confidence: z.number().nullable(),
    source: KeywordSourceSchema,
    created_by: z.uuid().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'AssetKeyword' });

export const KeywordSummarySchema = z
  .object({
    normalized: z.string(),
    keyword: z.string().meta({ description: 'The most frequent spelling among the assets' }),
    asset_count: z.number().int().meta({ description: 'Assets (not deleted) of the tenant carrying it' }),
    categories: z.array(z.string()),
  })
  .meta({ id: 'KeywordSummary' });

export function keywordView(k: IAssetKeyword): z.infer<typeof AssetKeywordSchema> {
  return {
    id: k.id,
    asset_id: k.assetId,
    keyword: k.keyword,
    normalized: k.normalized,
    category: k.category ?? null,
    confidence: k.confidence === null || k.confidence === undefined ? null : Number(k.confidence),
    source: k.source,
    created_by: k.createdBy ?? null,
    created_at: k.createdAt.toISOString(),
    updated_at: k.updatedAt.toISOString(),
  };
}

const duplicateKeyword = (normalized: string, existingId: string | undefined) =>
  new AppError(409, 'DUPLICATE_KEYWORD', `The asset already has the keyword "${normalized}"`, {
    details: { normalized, ...(existingId ? { keyword_id: existingId } : {}) },
  });

interface SummaryRow {
  normalized: string;
  keyword: string;
  asset_count: number | string;
  categories: string[] | null;
  match_rank: number | string;
}

export function createAssetKeywordsRouter(deps: ApiDeps, registry: ApiRegistry): Router {
  const router = new Router();
  const db = <T>(fn: (em: EntityManager) => Promise<T>) => withDependency('postgresql', () => fn(deps.orm.em.fork()));

  async function findKeyword(em: EntityManager, tenantId: string, assetId: string, id: string): Promise<IAssetKeyword> {
    if (!z.uuid().safeParse(id).success) throw notFound('Keyword');
    const keyword = await em.findOne(AssetKeyword, { id, tenantId, assetId });
    if (!keyword) throw notFound('Keyword');
    return keyword;
  }

  /** A unique violation on (asset_id, normalized) becomes 409 DUPLICATE_KEYWORD naming the keyword already there. */
  async function asDuplicate(err: unknown, tenantId: string, assetId: string, normalized: string): Promise<never> {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    const existing = await db((em) => em.findOne(AssetKeyword, { tenantId, assetId, normalized }, { fields: ['id'] }));
    throw duplicateKeyword(normalized, existing?.id);
  }

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id/keywords', operationId: 'listAssetKeywords', tags: ['Keywords'], auth: 'user',
    summary: `The keywords of an asset (all of them, at most ${MAX_KEYWORDS_PER_ASSET}), in normalized order; any user of the tenant`,
    params: AssetIdParams,
    query: z.object({ source: KeywordSourceSchema.optional(), category: z.string().max(MAX_CATEGORY_LENGTH).optional() }),
    responses: {
      200: { description: 'The keywords', schema: z.object({ items: z.array(AssetKeywordSchema) }) },
      404: { description: "NOT_FOUND: no such asset in the tenant (also another tenant's or a deleted one)" },
    },
  }, async (ctx, { params, query }) => {
    const caller = currentUser(ctx);
    const rows = await db(async (em) => {
      const asset = await findTenantAsset(em, caller.tenantId, params.id);
      return em.find(
        AssetKeyword,
        {
          tenantId: caller.tenantId,
          assetId: asset.id,
          ...(query.source ? { source: query.source } : {}),
          ...(query.category ? { category: query.category } : {}),
        },
        { orderBy: { normalized: 'asc', id: 'asc' } },
      );
    });
    ctx.body = { items: rows.map(keywordView) };
  });

  registry.addRoute(router, {
    method: 'post', path: '/api/v1/assets/:id/keywords', operationId: 'addAssetKeyword', tags: ['Keywords'], auth: ANNOTATION_WRITERS,
    summary: `Add a keyword to an asset (admin, manager, editor; at most ${MAX_KEYWORDS_PER_ASSET} per asset)`,
    description: 'The keyword is kept NFC, trimmed and with inner white space collapsed; its normalized form (also lower-case) must be new on the asset. `source` defaults to `manual`.',
    params: AssetIdParams,
    body: z.strictObject({
      keyword: KeywordTextSchema,
      category: CategorySchema.optional(),
      confidence: ConfidenceSchema.optional(),
      source: KeywordSourceSchema.default('manual'),
    }),
    responses: {
      201: { description: 'Added (Location: the keyword)', schema: AssetKeywordSchema },
      404: { description: 'NOT_FOUND: no such asset in the tenant' },
      409: { description: 'DUPLICATE_KEYWORD (details.normalized, details.keyword_id), KEYWORD_LIMIT_REACHED (details.limit)' },
      422: { description: 'VALIDATION_FAILED: keyword empty, only white space or over 100 characters; confidence outside 0–1; unknown source; unknown field' },
    },
  }, async (ctx, { params, body }) => {
    const caller = currentUser(ctx);
    const { keyword, normalized } = checkedKeyword(body.keyword);
    const id = randomUUID();
    const created = await db(async (em) => {
      const asset = await findTenantAsset(em, caller.tenantId, params.id);
      try {
        await em.transactional(async (tx) => {
          // One writer per asset at a time, so the limit holds under concurrent requests.
          await tx.getConnection().execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`asset-keywords:${asset.id}`], 'run', tx.getTransactionContext());
          const count = await tx.count(AssetKeyword, { tenantId: caller.tenantId, assetId: asset.id });
          if (count >= MAX_KEYWORDS_PER_ASSET) {
            throw new AppError(409, 'KEYWORD_LIMIT_REACHED', `An asset carries at most ${MAX_KEYWORDS_PER_ASSET} keywords`, { details: { limit: MAX_KEYWORDS_PER_ASSET } });
          }
          await tx.insert(AssetKeyword, {
            id,
            tenantId: caller.tenantId,
            assetId: asset.id,
            keyword,
            normalized,
            category: body.category ?? null,
            confidence: body.confidence ?? null,
            source: body.source,
            createdBy: caller.id,
          });
        });
      } catch (err) {
        return asDuplicate(err, caller.tenantId, asset.id, normalized);
      }
      return em.fork().findOneOrFail(AssetKeyword, { id, tenantId: caller.tenantId });
    });
    ctx.status = 201;
    ctx.set('Location', `/api/v1/assets/${created.assetId}/keywords/${created.id}`);
    ctx.body = keywordView(created);
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/assets/:id/keywords/:keywordId', operationId: 'getAssetKeyword', tags: ['Keywords'], auth: 'user',
    summary: 'A keyword of an asset',
    params: KeywordParams,
    responses: {
      200: { description: 'The keyword', schema: AssetKeywordSchema },
      404: { description: "NOT_FOUND: no such asset, or the keyword is not this asset's (also another tenant's)" },
    },
  }, async (ctx, { params }) => {
    const caller = currentUser(ctx);
    ctx.body = keywordView(await db(async (em) => {
      const asset = await findTenantAsset(em, caller.tenantId, params.id);
      return findKeyword(em, caller.tenantId, asset.id, params.keywordId);
    }));
  });

  registry.addRoute(router, {
    method: 'patch', path: '/api/v1/assets/:id/keywords/:keywordId', operationId: 'patchAssetKeyword', tags: ['Keywords'], auth: ANNOTATION_WRITERS,
    summary: 'Change a keyword (its text, category, confidence or source; admin, manager, editor)',
    description: 'A new text is normalized again and must stay unique on the asset. `category` and `confidence` may be set to null.',
    params: KeywordParams,
    body: z.strictObject({
      keyword: KeywordTextSchema.optional(),
      category: CategorySchema.optional(),
      confidence: ConfidenceSchema.optional(),
      source: KeywordSourceSchema.optional(),
    }).refine((b) => Object.keys(b).length > 0, 'nothing to change'),
    responses: {
      200: { description: 'The keyword', schema: AssetKeywordSchema },
      404: { description: 'NOT_FOUND' },
      409: { description: 'DUPLICATE_KEYWORD: the new text normalizes to another keyword of the asset' },
      422: { description: 'VALIDATION_FAILED' },
    },
  }, async (ctx, { params, body }) => {
    const caller = currentUser(ctx);
    ctx.body = keywordView(await db(async (em) => {
      const asset = await findTenantAsset(em, caller.tenantId, params.id);
      const current = await findKeyword(em, caller.tenantId, asset.id, params.keywordId);
      const text = body.keyword !== undefined ? checkedKeyword(body.keyword) : null;
      try {
        await em.nativeUpdate(AssetKeyword, { id: current.id, tenantId: caller.tenantId, assetId: asset.id }, {
          ...(text ? text : {}),
          ...(body.category !== undefined ? { category: body.category } : {}),
          ...(body.confidence !== undefined ? { confidence: body.confidence } : {}),
          ...(body.source !== undefined ? { source: body.source } : {}),
          updatedAt: new Date(),
        });
      } catch (err) {
        return asDuplicate(err, caller.tenantId, asset.id, text?.normalized ?? current.normalized);
      }
      const updated = await em.fork().findOne(AssetKeyword, { id: current.id, tenantId: caller.tenantId });
      if (!updated) throw notFound('Keyword');
      return updated;
    }));
  });

  registry.addRoute(router, {
    method: 'delete', path: '/api/v1/assets/:id/keywords/:keywordId', operationId: 'deleteAssetKeyword', tags: ['Keywords'], auth: ANNOTATION_WRITERS,
    summary: 'Remove a keyword from an asset (admin, manager, editor)',
    params: KeywordParams,
    responses: { 204: { description: 'Removed' }, 404: { description: 'NOT_FOUND' } },
  }, async (ctx, { params }) => {
    const caller = currentUser(ctx);
    await db(async (em) => {
      const asset = await findTenantAsset(em, caller.tenantId, params.id);
      if (!z.uuid().safeParse(params.keywordId).success) throw notFound('Keyword');
      const removed = await em.nativeDelete(AssetKeyword, { id: params.keywordId, tenantId: caller.tenantId, assetId: asset.id });
      if (removed === 0) throw notFound('Keyword');
    });
    ctx.status = 204;
  });

  registry.addRoute(router, {
    method: 'get', path: '/api/v1/keywords', operationId: 'searchKeywords', tags: ['Keywords'], auth: 'user',
    summary: "The tenant's keywords with how many assets carry each; `q` matches the normalized form (prefix matches first)",
    description: 'One item per normalized keyword over the tenant\'s assets that are not deleted. `q` is normalized like a keyword and matched anywhere in the normalized form: keywords starting with it come first, then those only containing it, each group in normalized order. Without `q` (or a blank one) every keyword is listed in normalized order. Keyset pagination: pass `next_cursor` back as `cursor` with the same `q`.',
    query: z.object({
      q: z.string().max(MAX_KEYWORD_LENGTH * 2).optional().meta({ example: 'rio' }),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(600).optional(),
    }),
    responses: {
      200: { description: 'A page', schema: z.object({ items: z.array(KeywordSummarySchema), next_cursor: z.string().nullable() }) },
      422: { description: 'VALIDATION_FAILED, INVALID_CURSOR' },
    },
  }, async (ctx, { query }) => {
    const caller = currentUser(ctx);
    const q = query.q === undefined ? '' : normalizeKeyword(query.q);
    if (hasNul(q)) throw new AppError(422, 'VALIDATION_FAILED', 'Invalid query', { details: [{ in: 'query', path: 'q', message: 'must not contain NUL' }] });
    let cursor: KeywordCursor | null = null;
    if (query.cursor) {
      cursor = decodeKeywordCursor(query.cursor);
      if (!cursor) throw new AppError(422, 'INVALID_CURSOR', 'The cursor is not valid; start again without it');
    }
    const rank = 'case when starts_with(k.normalized, ?) then 0 else 1 end';
    const params: unknown[] = [q, caller.tenantId, q];
    let after = '';
    if (cursor) {
      after = `and (${rank} > ? or (${rank} = ? and k.normalized > ?))`;
      params.push(q, cursor.rank, q, cursor.rank, cursor.normalized);
    }
    params.push(query.limit + 1);
    const rows: SummaryRow[] = await db((em) => em.getConnection().execute(
      `select k.normalized,
              mode() within group (order by k.keyword) as keyword,
              count(*)::int as asset_count,
              array_agg(distinct k.category order by k.category) filter (where k.category is not null) as categories,
              ${rank} as match_rank
         from asset_keywords k
         join assets a on a.tenant_id = k.tenant_id and a.id = k.asset_id and a.deleted_at is null
        where k.tenant_id = ? and position(? in k.normalized) > 0 ${after}
        group by k.normalized
        order by match_rank, k.normalized
        limit ?`,
      params,
      'all',
    ) as Promise<SummaryRow[]>);
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    ctx.body = {
      items: items.map((r) => ({ normalized: r.normalized, keyword: r.keyword, asset_count: Number(r.asset_count), categories: r.categories ?? [] })),
      next_cursor: rows.length > query.limit && last ? encodeKeywordCursor({ rank: Number(last.match_rank) === 0 ? 0 : 1, normalized: last.normalized }) : null,
    };
  });

  return router;
}
