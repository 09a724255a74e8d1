// Who is calling: the API key that authenticated the request (null with auth off).
import type { Role } from '../config.js';

export interface Principal {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Least role the route needs; routes without one are open. */
    role?: Role;
  }
}
