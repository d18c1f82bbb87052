// A throwaway local stack for tests: a fresh cluster in a temp folder on free ports, every migration, the seed
// and the config sync applied, the functions on real Deno talking to this process's own local Stripe and
// OpenAI-wire servers. The suite's global stack and each scenario's stack of its own are both this one.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../src/local/functions.ts";
import { startStack } from "../../src/local/stack.ts";
import { tempDir } from "../../src/local/throwaway.ts";
import { startImageServers } from "./image-servers.ts";
import { startEmailServers } from "./email-servers.ts";
import { EMAIL_WEBHOOK_ENV } from "./email-webhooks.ts";
import { startOpenAIServer } from "./openai-server.ts";
import { TEST_FUNCTION_ENV } from "./stack.ts";
import { startStripeServer } from "./stripe-server.ts";
import { startPolarServer } from "./polar-server.ts";

export interface TestStackOptions {
  /** The temp folder's name prefix (it holds the cluster and the functions' log). */
  dirPrefix: string;
  /** Run presets/<name>.ts instead of the shipped config (or a test's own tests/fixtures/*.config.ts, by path). */
  preset?: string;
  /** Only these functions run (default: all). */
  functions?: string[];
  /** Names the stack in the line that SAASBASE_KEEP_TEST_LOGS=1 prints at stop. */
  label?: string;
}

export type TestStack = Awaited<ReturnType<typeof startTestStack>>;

export async function startTestStack(opts: TestStackOptions) {
  const dir = tempDir(opts.dirPrefix);
  const functionsLog = join(dir, "functions.log");
  const stripe = await startStripeServer();
  const ai = await startOpenAIServer();
  const polar = await startPolarServer({ accessToken: TEST_FUNCTION_ENV.POLAR_ACCESS_TOKEN });
  const images = await startImageServers();
  const email = await startEmailServers();
  const only = opts.functions;
  const stack = await startStack({
    preset: opts.preset,
    dataDir: join(dir, "db"),
    dbPort: await freePort(),
    apiPort: await freePort(),
    durable: false,
    loadFunctionsEnvFile: false,
    functionEnv: {
      ...TEST_FUNCTION_ENV,
      STRIPE_API_BASE: stripe.url,
      POLAR_API_BASE: polar.url,
      OPENAI_BASE_URL: `${ai.url}/openai/v1`,
      GEMINI_BASE_URL: `${ai.url}/gemini/v1`,
      // The MCP server's component model (v0's Model API in the shipped config and nuggetwise's).
      V0_BASE_URL: `${ai.url}/v0/v1`,
      // The image providers (config images: Gemini's generateContent, OpenAI's images API).
      GEMINI_IMAGE_BASE_URL: images.geminiBase,
      OPENAI_IMAGES_BASE_URL: images.openaiBase,
      // Mail: Resend (the config's default) against the local provider servers; the webhooks' secrets.
      ...email.env,
      SAASBASE_EMAIL_PROVIDER: "resend",
      ...EMAIL_WEBHOOK_ENV,
    },
    functionsLogFile: functionsLog,
    functions: only && ((spec) => only.includes(spec.name)),
  }).catch(async (err) => {
    await Promise.all([stripe.close(), ai.close(), polar.close(), images.close(), email.close()]);
    throw err;
  });
  return {
    stack,
    stripe,
    ai,
    /** The local Polar API server the functions' @polar-sh/sdk talks to (tests/support/polar-server.ts). */
    polar,
    images,
    email,
    functionsLog,
    /** Stops the stack and the servers, and removes the temp folder (SAASBASE_KEEP_TEST_LOGS=1 keeps it for a
     * look at the functions' log after a failing run). */
    async stop() {
      await stack.stop();
      await Promise.all([stripe.close(), ai.close(), polar.close(), images.close(), email.close()]);
      if (process.env.SAASBASE_KEEP_TEST_LOGS === "1") {
        console.log(`${opts.label ? `${opts.label} ` : ""}functions log: ${functionsLog}`);
        return;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
