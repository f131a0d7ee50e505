import type { Role } from '../storage/schema.js';

/** Who is calling: every query a request makes is scoped by `accountId`. */
export interface Principal {
  readonly accountId: string;
  readonly role: Role;
  readonly userId?: string;
  readonly apiKeyId?: string;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` may do what `required` may. */
export function hasRole(role: Role, required: Role): boolean {
  return rank[role] >= rank[required];
}
