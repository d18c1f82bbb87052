// Starts one throwaway local stack for the vitest run (tests/support/test-stack.ts: a fresh cluster in a temp
// folder, its own free ports, every migration, the seed and the config sync applied, every edge function on
// real Deno). Torn down after.
import type { TestProject } from "vitest/node";
import type { StackInfo } from "./stack.ts";
import { startTestStack } from "./test-stack.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject) {
  const { stack, stripe, ai, images, email, functionsLog, stop } = await startTestStack({ dirPrefix: "saasbase-vitest-" });
  project.provide("stack", {
    apiUrl: stack.apiUrl,
    functionsUrl: stack.functionsUrl,
    storageUrl: stack.storageUrl,
    storageDir: stack.storageDir,
    dbUrl: stack.dbUrl,
    jwtSecret: stack.jwtSecret,
    anonKey: stack.anonKey,
    serviceRoleKey: stack.serviceRoleKey,
    functionsLog,
    stripeUrl: stripe.url,
    aiUrl: ai.url,
    imagesUrl: images.url,
    emailUrl: email.url,
    secretsKeyFile: stack.secretsKeyFile!,
  });
  return stop;
}
