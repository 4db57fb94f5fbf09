/** The hand-written RFC 6455 client lives with the hardening load test, which uses it too. */
export * from '../../loadtest/hardening/raw-ws.js';
