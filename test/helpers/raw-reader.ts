/** Raw authenticated readers live with the hardening load test, which uses them too. */
export * from '../../loadtest/hardening/raw-reader.js';
