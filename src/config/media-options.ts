/** The `media` section: sealed, padded cells for calls and rooms. */
import { field } from './fields.js';

export const mediaOptions = {
  enabled: field.bool('Serve the media plane (rooms and cells).', true),
  udpPort: field.int('UDP port for cells.', 7801, { min: 0, max: 65535 }),
} as const;
