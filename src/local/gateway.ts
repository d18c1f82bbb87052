// The local API gateway on the API port (54321): `/functions/v1/<name>/...` reaches the function's Deno
// process with the path the platform gives it (`/<name>/...`), after the platform's verify_jwt check.
// Bodies stream both ways unbuffered (Server-Sent Events work), and a client that disconnects aborts the
// upstream request, so the function's `req.signal` fires as it does on Supabase.
//
// `/storage/v1/...` reaches the local Storage emulation (src/local/storage.ts) when the stack runs one.
//
// What it does not mirror: Kong's API-key routes /rest/v1 and /auth/v1 need PostgREST and GoTrue, which only
// `supabase start` provides.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { verifyJwt } from "./jwt.ts";

export interface FunctionRouter {
  target(name: string): { port: number; verifyJwt: boolean } | undefined;
}

/** What answers /storage/v1 (src/local/storage.ts's LocalStorage). */
export interface StorageHandler {
  handle(req: IncomingMessage, res: ServerResponse, rest: string, search: string): Promise<void>;
}

const FUNCTIONS_PREFIX = "/functions/v1/";
const STORAGE_PREFIX = "/storage/v1/";

// The platform's own error bodies (edge runtime and relay), kept as they are so that clients see here what
// they see on Supabase.
function platformError(res: ServerResponse, status: number, code: string | number, message: string) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ code, message }));
}

/** Whether the request carries a bearer JWT signed with the project's secret (any role, as the platform). */
export async function jwtCheck(authorization: string | undefined, secret: string): Promise<"ok" | "missing" | "invalid"> {
  if (!authorization) return "missing";
  const m = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!m) return "invalid";
  return (await verifyJwt(m[1], secret)) ? "ok" : "invalid";
}

export function createGateway(router: FunctionRouter, jwtSecret: string, storage?: StorageHandler): Server {
  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    // The raw path: Storage decodes object names itself (an encoded `..` must reach it as such, not resolved).
    const [rawPath, rawSearch = ""] = (req.url ?? "/").split(/\?(.*)/s, 2);
    if (storage && rawPath.startsWith(STORAGE_PREFIX)) {
      return storage.handle(req, res, rawPath.slice(STORAGE_PREFIX.length), rawSearch);
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(FUNCTIONS_PREFIX)) {
      return platformError(res, 404, "not_found", "Only /functions/v1 and /storage/v1 are served by the local stack; use `supabase start` for /rest and /auth");
    }
    const rest = url.pathname.slice(FUNCTIONS_PREFIX.length);
    const name = rest.split("/")[0];
    const target = router.target(name);
    if (!target) return platformError(res, 404, "NOT_FOUND", "Requested function was not found");

    // As the edge runtime: preflight requests pass without a token so browsers can reach the function.
    if (target.verifyJwt && req.method !== "OPTIONS") {
      const check = await jwtCheck(req.headers.authorization, jwtSecret);
      if (check === "missing") return platformError(res, 401, 401, "Missing authorization header");
      if (check === "invalid") return platformError(res, 401, 401, "Invalid JWT");
    }

    let answer: IncomingMessage | undefined;
    const upstream = httpRequest(
      {
        host: "127.0.0.1",
        port: target.port,
        method: req.method,
        path: `/${rest}${url.search}`,
        headers: { ...req.headers, host: `127.0.0.1:${target.port}` },
      },
      (up) => {
        answer = up;
        // Hop-by-hop headers are about the function's connection, not the client's: a function that answers
        // before reading the body closes its own (`connection: close`), and the client keeps theirs.
        const headers = { ...up.headers };
        for (const h of ["connection", "keep-alive", "transfer-encoding"]) delete headers[h];
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    // What the client still sends once the function has stopped reading (an early 413, 401 or 405) is read
    // and dropped, so that the client's kept-alive connection is ready for its next request.
    const dropRestOfBody = () => {
      req.unpipe(upstream);
      req.resume();
    };
    upstream.on("error", () => {
      dropRestOfBody();
      if (!res.headersSent) platformError(res, 502, "BOOT_ERROR", "Function failed to respond");
      // An answer cut midway must reach the client as a break; one already whole (the function closed its
      // side after answering early) is finished by the pipe, and the client's connection stays usable.
      else if (!answer?.complete) res.destroy();
    });
    res.on("finish", () => {
      if (!req.complete) dropRestOfBody();
    });
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
}

export function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new Error(`Port ${port} is in use (another \`npm run dev\` or \`supabase start\`?)`) : err)
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
}
