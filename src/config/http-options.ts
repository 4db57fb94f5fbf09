/** The `http` section: bounds on every HTTP connection and request, whatever the route (README, "HTTP limits"). */
import { field } from './fields.js';

export const httpOptions = {
  requestTimeoutMs: field.int('Milliseconds a client has to send a whole request, headers and body (Node `server.requestTimeout`); past it the relay answers 408 request_timeout and closes the connection. A stalled upload holds its request no longer than this.', 30_000, { min: 100, max: 600_000 }),
  headersTimeoutMs: field.int('Milliseconds a client has to send a request\'s headers, counted from the connection (or the previous request); past it 408 request_timeout and close. Also bounds the TLS handshake. At most requestTimeoutMs.', 10_000, { min: 100, max: 600_000 }),
  keepAliveTimeoutMs: field.int('Milliseconds an idle keep-alive connection is kept open after its last response.', 5_000, { min: 100, max: 600_000 }),
  maxHeaderBytes: field.int('Largest request line plus headers, in bytes (Node `maxHeaderSize`); past it 431 headers_too_large and close.', 16_384, { min: 1_024, max: 1_048_576 }),
  maxDiscardBytes: field.int('Body bytes the relay still reads and discards after refusing a request early (413, 429, 400), so the client can read the answer; past it the connection is closed. A declared Content-Length above it gets `connection: close` at once.', 1_048_576, { min: 0, max: 64 * 1_048_576 }),
  maxConnections: field.int('Most concurrent TCP connections (HTTP and WebSocket) in all (Node `server.maxConnections`); more are closed at once. Keep it below the process\'s file descriptor limit (the shipped systemd unit sets LimitNOFILE=65536) so UDP and TURN sockets always have room.', 50_000, { min: 1 }),
  maxConnectionsPerAddress: field.int('Most concurrent TCP connections (HTTP and WebSocket) from one client address; more are closed at once and counted. Peers listed in trustProxy are exempt.', 1_024, { min: 1 }),
} as const;
