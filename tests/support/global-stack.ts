// Starts one throwaway local stack for the vitest run: a fresh cluster in a temp folder, its own free ports,
// every migration, the seed and the config sync applied, every edge function on real Deno. Torn down after.
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../../src/local/functions.ts";
import { startStack } from "../../src/local/stack.ts";
import { tempDir } from "../../src/local/throwaway.ts";
import { TEST_FUNCTION_ENV, type StackInfo } from "./stack.ts";
import { startOpenAIServer } from "./openai-server.ts";
import { startStripeServer } from "./stripe-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject) {
  const dir = tempDir("saasbase-vitest-");
  const stripe = await startStripeServer();
  const ai = await startOpenAIServer();
  const stack = await startStack({
    dataDir: join(dir, "db"),
    dbPort: await freePort(),
    apiPort: await freePort(),
    durable: false,
    loadFunctionsEnvFile: false,
    functionEnv: {
      ...TEST_FUNCTION_ENV,
      STRIPE_API_BASE: stripe.url,
      OPENAI_BASE_URL: `${ai.url}/openai/v1`,
      GEMINI_BASE_URL: `${ai.url}/gemini/v1`,
    },
    functionsLogFile: join(dir, "functions.log"),
  });
  project.provide("stack", {
    apiUrl: stack.apiUrl,
    functionsUrl: stack.functionsUrl,
    dbUrl: stack.dbUrl,
    jwtSecret: stack.jwtSecret,
    anonKey: stack.anonKey,
    serviceRoleKey: stack.serviceRoleKey,
    functionsLog: join(dir, "functions.log"),
    stripeUrl: stripe.url,
    aiUrl: ai.url,
  });
  return async () => {
    await stack.stop();
    await stripe.close();
    await ai.close();
    // SAASBASE_KEEP_TEST_LOGS=1 keeps the functions' log for a look after a failing run.
    if (process.env.SAASBASE_KEEP_TEST_LOGS === "1") {
      console.log(`functions log: ${join(dir, "functions.log")}`);
      return;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
