/** The `turn` section: the RFC 8656 TURN plane. */
import { field } from './fields.js';

export const turnOptions = {
  enabled: field.bool('Serve TURN (RFC 8656) on UDP and TCP.', true),
  port: field.int('TURN listening port (UDP and TCP).', 3478, { min: 0, max: 65535 }),
} as const;
