/**
 * Access tokens: JWT HS256 with `sub`, `tenant_id`, `role`, `sid` (session = refresh-token family),
 * `typ: "access"`, `iss`, `aud`, `iat`, `exp`, `jti`; verification pins the algorithm, issuer and
 * audience with a 30 s clock tolerance. Refresh tokens: 256 random bits, opaque; only their
 * SHA-256 is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AuthConfig } from '../config.ts';

export interface AccessClaims {
  sub: string;
  tenant_id: string;
  role: string;
  sid: string;
  typ: 'access';
  jti: string;
  iat: number;
  exp: number;
}

export class InvalidTokenError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`Invalid access token: ${reason}`);
    this.name = 'InvalidTokenError';
    this.reason = reason;
  }
}

export function signAccessToken(config: AuthConfig, subject: { userId: string; tenantId: string; role: string; sessionId: string }): string {
  return jwt.sign(
    { tenant_id: subject.tenantId, role: subject.role, sid: subject.sessionId, typ: 'access' },
    config.jwtSecret,
    {
      algorithm: 'HS256',
      subject: subject.userId,
      issuer: config.issuer,
      audience: config.audience,
      expiresIn: config.accessTokenTtlSeconds,
      jwtid: randomUUID(),
    },
  );
}

export function verifyAccessToken(config: AuthConfig, token: string): AccessClaims {
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, config.jwtSecret, {
      algorithms: ['HS256'],
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: 30,
    });
  } catch (err) {
    throw new InvalidTokenError(err instanceof jwt.TokenExpiredError ? 'expired' : (err as Error).message);
  }
  if (typeof payload === 'string' || payload.typ !== 'access') throw new InvalidTokenError('not an access token');
  const { sub, tenant_id, role, sid, jti, iat, exp } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof tenant_id !== 'string' || typeof role !== 'string' || typeof sid !== 'string') {
    throw new InvalidTokenError('missing claims');
  }
  return { sub, tenant_id, role, sid, typ: 'access', jti: String(jti), iat: Number(iat), exp: Number(exp) };
}

/** A new opaque refresh token (256 random bits, base64url) and the hash to store. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
