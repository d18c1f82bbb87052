import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // One throwaway local stack (own cluster, own ports) for the whole run, torn down after.
    globalSetup: ["tests/support/global-stack.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
