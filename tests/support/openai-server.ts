// A local server speaking the OpenAI chat-completions wire format (SSE chunks `data: {...}`, a final chunk
// with usage, `data: [DONE]`, error envelopes), so the real `openai` SDK inside the chat function talks to it
// as to api.openai.com. Two providers share it by path prefix (/openai/v1, /gemini/v1). Test files script
// what the next requests of a provider get with POST /_test/script and read requests from GET /_test/state.
// Usage is reported as OpenAI bills it, from what was received and sent: the prompt's messages counted with
// o200k_base (tiktoken's, through gpt-tokenizer) plus 4 a message and 3 for the answer's opening, the answer's
// text counted alike; and only when the request asked for it (`stream_options.include_usage`), as the API does.
import { createServer, type Server, type ServerResponse } from "node:http";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { freePort } from "../../src/local/functions.ts";

const plain = { disallowedSpecial: new Set<string>() };
/** What OpenAI reports as prompt_tokens for these messages. */
export function promptTokensOf(messages: { role: string; content: string }[]): number {
  return messages.reduce((n, m) => n + countTokens(m.content, plain) + 4, 3);
}
/** What OpenAI reports as completion_tokens for this answer. */
export const completionTokensOf = (text: string) => countTokens(text, plain);

export type Step =
  | {
    kind: "ok";
    chunks?: string[];
    /** Reported instead of the usage counted from the request and the answer (a provider that bills more). */
    usage?: { prompt_tokens: number; completion_tokens: number };
    delayMs?: number;
    /** Sends this many chunks, then waits for POST /_test/release or for the client to hang up: tests that
     * act mid-answer do so while the answer is held, whatever the machine's pace. */
    holdAfter?: number;
  }
  | { kind: "status"; status: number }
  | { kind: "die"; after: number }; // sends `after` chunks, then drops the connection

export interface Recorded {
  provider: string;
  model: string;
  messages: { role: string; content: string }[];
  max_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  /** The usage this request's answer reported (none when it did not ask, or got no answer). */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** The API key the request was made with (the bearer token): whose key paid the provider. */
  apiKey?: string;
  at: number;
}

const DEFAULT_CHUNKS = ["Hello", ", ", "world", "!"];
const DEFAULT: Step = { kind: "ok", chunks: DEFAULT_CHUNKS };

export async function startOpenAIServer() {
  const scripts = new Map<string, Step[]>();
  /** Delay before each chunk of unscripted answers (benchmarks: a model's pace). */
  let defaultDelayMs = 0;
  const requests: Recorded[] = [];
  /** Answers waiting at their `holdAfter` point. */
  const held = new Set<() => void>();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const chunk = (model: string, delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id: "chatcmpl-test", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;

  async function answer(res: ServerResponse, model: string, step: Step, request: Recorded) {
    if (step.kind === "status") {
      res.writeHead(step.status, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: { message: `scripted ${step.status}`, type: "server_error", code: null } }));
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(chunk(model, { role: "assistant", content: "" }));
    const chunks = step.kind === "ok" ? step.chunks ?? DEFAULT_CHUNKS : ["partial ", "answer ", "never ", "finished"];
    for (let i = 0; i < chunks.length; i++) {
      if (step.kind === "die" && i === step.after) {
        await sleep(50); // let the chunks sent so far reach the client, then drop the connection
        res.socket?.destroy();
        return;
      }
      if (step.kind === "ok" && step.holdAfter === i) {
        await new Promise<void>((release) => {
          held.add(release);
          res.once("close", release);
        });
        if (res.destroyed) return;
      }
      if (step.kind === "ok" && step.delayMs) await sleep(step.delayMs);
      res.write(chunk(model, { content: chunks[i] }));
    }
    res.write(chunk(model, {}, "stop"));
    if (request.stream_options?.include_usage) {
      const usage = (step.kind === "ok" && step.usage) ||
        { prompt_tokens: promptTokensOf(request.messages), completion_tokens: completionTokensOf(chunks.join("")) };
      request.usage = usage;
      const total = usage.prompt_tokens + usage.completion_tokens;
      res.write(`data: ${JSON.stringify({ id: "chatcmpl-test", object: "chat.completion.chunk", model, choices: [], usage: { ...usage, total_tokens: total } })}\n\n`);
    }
    res.write("data: [DONE]\n\n");
    res.end();
  }

  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/_test/script" && req.method === "POST") {
        const { provider, steps } = JSON.parse(text) as { provider: string; steps: Step[] };
        scripts.set(provider, [...steps]);
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === "/_test/release" && req.method === "POST") {
        for (const release of held) release();
        held.clear();
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === "/_test/state") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ requests, pending: Object.fromEntries(scripts) }));
        return;
      }
      const m = /^\/(\w+)\/v1\/chat\/completions$/.exec(url.pathname);
      if (!m || req.method !== "POST") {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found" } }));
        return;
      }
      const body = JSON.parse(text);
      const request: Recorded = {
        provider: m[1], model: body.model, messages: body.messages, max_tokens: body.max_tokens, stream: body.stream,
        stream_options: body.stream_options, at: Date.now(),
        apiKey: /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1],
      };
      requests.push(request);
      const step = scripts.get(m[1])?.shift() ?? { ...DEFAULT, delayMs: defaultDelayMs };
      await answer(res, body.model, step, request);
    });
  });

  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${port}`,
    setDefaultDelay: (ms: number) => (defaultDelayMs = ms),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
