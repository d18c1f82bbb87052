// Runs one edge function in a Deno process of its own, as Supabase's edge runtime runs each function in a
// worker of its own. The function's module is loaded unchanged; only the address its `Deno.serve` listens
// on is set here, as the platform sets it. Usage: deno run -A function-worker.ts <entrypoint> <port>
import { pathToFileURL } from "node:url";

const [entrypoint, port] = Deno.args;
if (!entrypoint || !port) {
  console.error("usage: function-worker.ts <entrypoint> <port>");
  Deno.exit(2);
}

type ServeArgs = Parameters<typeof Deno.serve>;
const serve = Deno.serve.bind(Deno) as (...args: unknown[]) => Deno.HttpServer;

// Deno.serve(handler) | Deno.serve(options, handler) | Deno.serve({ ...options, handler })
function bound(...args: ServeArgs): Deno.HttpServer {
  const [first, second] = args as unknown[];
  const options = (typeof first === "function" ? {} : first ?? {}) as Record<string, unknown>;
  const handler = typeof first === "function" ? first : second ?? options.handler;
  return serve({ ...options, handler, hostname: "127.0.0.1", port: Number(port), onListen: () => {} });
}
Object.defineProperty(Deno, "serve", { value: bound, configurable: true, writable: true });

await import(pathToFileURL(entrypoint).href);
