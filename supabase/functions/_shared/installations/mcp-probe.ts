// Does an MCP server answer? One `initialize` request over Streamable HTTP, as an editor sends it first: a
// JSON-RPC POST accepting JSON or an event stream, with the config's own headers (its API key). The session it
// opens, if any, is closed again (DELETE with its Mcp-Session-Id), so a probe leaves nothing behind.
export const PROBE_PROTOCOL_VERSION = "2025-06-18";

export type ProbeResult =
  | { ok: true; serverInfo: { name?: string; version?: string }; protocolVersion: string }
  | { ok: false; error: string };

/** The first JSON-RPC message of an event stream (`data:` lines of the first event that has any). */
function firstEventData(body: string): string | undefined {
  for (const block of body.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart());
    if (data.length > 0) return data.join("\n");
  }
  return undefined;
}

/** Reads at most `max` bytes of a body (a server answering megabytes is not answering initialize). */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    chunks.push(r.value);
    size += r.value.byteLength;
    // An event stream stays open after its answer: stop at the first complete event.
    if (size > max || new TextDecoder().decode(r.value).includes("\n\n")) break;
  }
  await reader.cancel().catch(() => {});
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) (bytes.set(c, offset), offset += c.byteLength);
  return new TextDecoder().decode(bytes.subarray(0, Math.min(size, max)));
}

/** Sends `initialize` to `url` with `headers`; ok with what the server says it is, or a sentence saying why not. */
export async function probeInitialize(
  url: string,
  headers: Record<string, string>,
  timeoutMs = 5_000,
): Promise<ProbeResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: PROBE_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: "saasbase-installation-check", version: "1.0.0" },
        },
      }),
      signal,
      redirect: "manual",
    });
  } catch (err) {
    const reason = signal.aborted ? `no answer within ${timeoutMs / 1000} s` : "it could not be reached";
    console.error(`MCP probe of ${url}: ${(err as Error).message}`);
    return { ok: false, error: `The MCP server at ${url} did not answer initialize: ${reason}` };
  }
  const sessionId = res.headers.get("mcp-session-id");
  try {
    let body: string;
    try {
      body = await readCapped(res, 64 * 1024);
    } catch {
      return { ok: false, error: `The MCP server at ${url} broke off its answer to initialize` };
    }
    if (!res.ok) {
      const hint = res.status === 401 || res.status === 403 ? " (it refused the config's credentials)" : "";
      return { ok: false, error: `The MCP server at ${url} answered initialize with HTTP ${res.status}${hint}` };
    }
    const type = res.headers.get("content-type") ?? "";
    const payload = type.includes("text/event-stream") ? firstEventData(body) : body;
    let message: { result?: { protocolVersion?: unknown; serverInfo?: { name?: unknown; version?: unknown } }; error?: { message?: unknown } };
    try {
      message = JSON.parse(payload ?? "");
    } catch {
      return { ok: false, error: `The MCP server at ${url} did not answer initialize with JSON-RPC` };
    }
    if (message?.error) {
      return {
        ok: false,
        error: `The MCP server at ${url} refused initialize: ${String(message.error.message ?? "an error").slice(0, 200)}`,
      };
    }
    const result = message?.result;
    if (!result || typeof result.protocolVersion !== "string") {
      return { ok: false, error: `The MCP server at ${url} answered initialize without a protocol version` };
    }
    const info = result.serverInfo ?? {};
    return {
      ok: true,
      protocolVersion: result.protocolVersion.slice(0, 32),
      serverInfo: {
        name: typeof info.name === "string" ? info.name.slice(0, 200) : undefined,
        version: typeof info.version === "string" ? info.version.slice(0, 64) : undefined,
      },
    };
  } finally {
    if (sessionId) {
      await fetch(url, {
        method: "DELETE",
        headers: { ...headers, "mcp-session-id": sessionId },
        signal: AbortSignal.timeout(timeoutMs),
      }).then((r) => r.body?.cancel()).catch(() => {});
    }
  }
}
