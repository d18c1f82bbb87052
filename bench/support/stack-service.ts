// The local stack (Postgres, the gateway, the named functions' Deno processes) as a benchmark's service.
import { freePort } from "../../src/local/functions.ts";
import { startStack } from "../../src/local/stack.ts";
import { serve, serviceOptions } from "./service.ts";

export interface StackServiceOptions {
  dataDir: string;
  functions: string[];
  functionEnv: Record<string, string>;
  functionsLogFile: string;
}
export interface StackInfo {
  dbUrl: string;
  functionsUrl: string;
  jwtSecret: string;
}

const opts = serviceOptions<StackServiceOptions>();
try {
  const stack = await startStack({
    dataDir: opts.dataDir,
    dbPort: await freePort(),
    apiPort: await freePort(),
    loadFunctionsEnvFile: false,
    functionEnv: opts.functionEnv,
    functions: (f) => opts.functions.includes(f.name),
    functionsLogFile: opts.functionsLogFile,
  });
  serve<StackInfo>({ dbUrl: stack.dbUrl, functionsUrl: stack.functionsUrl, jwtSecret: stack.jwtSecret }, {
    stop: () => stack.stop(),
  });
} catch (err) {
  process.send!({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
