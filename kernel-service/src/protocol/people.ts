/** The HTTP request bodies about people (docs/protocol.md, "Tokens for Jupyter users"). */
import { z } from 'zod';
import { ROLES } from '../people/roles.js';

/** `POST /v2/nbdeploy/users/{name}/tokens`: the role a new user gets (an existing user keeps theirs), and the token's label. */
export const ServerExtensionTokenRequest = z.strictObject({
  role: z.enum(ROLES).optional(),
  label: z.string().min(1).max(128).optional()
});
export type ServerExtensionTokenRequest = z.infer<typeof ServerExtensionTokenRequest>;
