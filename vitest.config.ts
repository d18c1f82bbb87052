import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // One throwaway local stack (own cluster, own ports) for the whole run, torn down after.
    globalSetup: ["tests/support/global-stack.ts"],
    // One file at a time, whatever the machine's cores: the files share that stack's fake AI server (its
    // scripted answers and request log) and some day-wide counters.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // supabase-js builds its realtime client with the platform's WebSocket, which browsers and Node >= 22
    // have; Node 20 has it behind a flag.
    execArgv: typeof WebSocket === "undefined" ? ["--experimental-websocket"] : [],
  },
});
