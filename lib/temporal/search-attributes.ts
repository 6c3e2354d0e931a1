/**
 * Custom search attributes every Moviola workflow upserts, so that a stuck job is one query away
 * in the Web UI or `temporal workflow list --query "TenantId='acme' AND Stage='probe'"`.
 * Registered by the dev server at start (scripts) and by `temporal operator search-attribute create`
 * in production.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const OwnerIdKey = defineSearchAttributeKey('OwnerId', SearchAttributeType.KEYWORD);
export const JobKindKey = defineSearchAttributeKey('JobKind', SearchAttributeType.KEYWORD);
export const StageKey = defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD);
export const StageSinceKey = defineSearchAttributeKey('StageSince', SearchAttributeType.DATETIME);

export const SEARCH_ATTRIBUTES = [TenantIdKey, OwnerIdKey, JobKindKey, StageKey, StageSinceKey];

/** `Name=Type` pairs for `temporal server start-dev --search-attribute`. */
export function devServerSearchAttributeArgs(): string[] {
  const typeName: Record<string, string> = { KEYWORD: 'Keyword', DATETIME: 'Datetime' };
  return SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${typeName[key.type] ?? key.type}`]);
}
