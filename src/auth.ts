// Access-token checks (a Bearer or Token header, or ?access_token=) and HTTP POST signatures, compared in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** The token a request carries, if any. */
export function tokenOf(authorization: string | undefined, query: string | undefined): string | undefined {
  if (authorization !== undefined) return /^(?:bearer|token)\s+(.*)$/i.exec(authorization.trim())?.[1] ?? authorization;
  return query;
}

/** Compares digests so neither the content nor the length of the token leaks through timing. */
export function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** 401 without a token, 403 with a wrong one; open when no token is configured. */
export function requireToken(expected: string): MiddlewareHandler {
  return async (c, next) => {
    if (!expected) return next();
    const given = tokenOf(c.req.header('authorization'), c.req.query('access_token'));
    if (given === undefined) return c.text('missing access token', 401);
    if (!sameToken(given, expected)) return c.text('wrong access token', 403);
    return next();
  };
}

/** The X-Signature of an HTTP POST body: sha1= and the hex HMAC-SHA1 of the exact bytes. */
export function signature(secret: string, body: string | Uint8Array): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}
