// The request pipeline every function shares: CORS preflight first, then the handler, with any thrown
// error turned into a JSON error response carrying the CORS headers too.
import { corsHeaders } from "./cors.ts";
import { errorResponse } from "./errors.ts";

export type Handler = (req: Request) => Response | Promise<Response>;

/** Wraps a handler for `Deno.serve`: answers OPTIONS, adds CORS headers, maps errors to JSON. */
export function withHttp(handler: Handler): Handler {
  return async (req) => {
    if (req.method === "OPTIONS") return new Response("ok", { headers: corsHeaders });
    try {
      const res = await handler(req);
      for (const [k, v] of Object.entries(corsHeaders)) if (!res.headers.has(k)) res.headers.set(k, v);
      return res;
    } catch (err) {
      return errorResponse(err, corsHeaders);
    }
  };
}

/** A JSON response with the given status. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return Response.json(body, { status, headers });
}
