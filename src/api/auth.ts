// API-key authentication and roles. Each route declares the least role it
// needs (config.role); routes without one (/healthz, /readyz, /docs,
// /openapi.json) are open. viewer < operator < admin. Secrets are compared in
// constant time against every key, so timing says nothing about which matched.
import type { FastifyInstance } from 'fastify';
import type { ApiKey, Role } from '../config.js';
import type { Logger } from '../logger.js';
import { bearerToken, secretsEqual } from './bearer-token.js';
import { ForbiddenError, UnauthorizedError } from './problems.js';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** The key whose secret equals `token`; every key is compared. */
export function findKey(keys: ApiKey[], token: string): ApiKey | undefined {
  let found: ApiKey | undefined;
  for (const key of keys) if (secretsEqual(token, key.secret) && !found) found = key;
  return found;
}

export function registerAuth(app: FastifyInstance, keys: ApiKey[], logger: Logger): void {
  if (keys.length === 0) {
    logger.warn('API_KEYS is not set: authentication is off and every caller has the admin role');
    return;
  }
  app.addHook('onRequest', (request, _reply, done) => {
    const need = request.routeOptions.config.role;
    if (!need) return done();
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) return done(new UnauthorizedError('this route needs an API key: Authorization: Bearer <secret>'));
    const key = findKey(keys, token);
    if (!key) return done(new UnauthorizedError('unknown API key'));
    if (!roleAllows(key.role, need)) return done(new ForbiddenError(`this route needs the ${need} role; key ${key.name} has ${key.role}`));
    request.principal = { name: key.name, role: key.role };
    done();
  });
}
