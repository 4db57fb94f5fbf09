import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Wire tests bound their own waits; these only catch a hang on a loaded 2-core CI machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
