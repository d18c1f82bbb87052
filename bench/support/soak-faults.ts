// Fault injection for bench/soak.ts: a seeded random source, and an HTTP proxy put between the functions and
// a local provider server (the OpenAI-wire server, the Stripe-wire server) that fails some requests the ways
// a provider does: an error answer, a connection reset before the request reaches it, an answer lost after it
// did its work (the reset comes once the provider has answered: a Stripe transfer made, its id never seen), a
// stream cut midway, a slow answer, or no answer at all until the caller gives up (a timeout).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { freePort } from "../../src/local/functions.ts";

/** mulberry32: a small seeded generator, so a run's choices (not its timing) repeat for the same seed. */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    /** A key of `weights`, drawn in proportion to its weight. */
    weighted: <K extends string>(weights: Partial<Record<K, number>>): K => {
      const entries = Object.entries(weights) as [K, number][];
      let r = next() * entries.reduce((n, [, w]) => n + w, 0);
      for (const [k, w] of entries) if ((r -= w) < 0) return k;
      return entries[entries.length - 1][0];
    },
    shuffle: <T>(items: T[]): T[] => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}
export type Random = ReturnType<typeof seededRandom>;

export type ProxyFault = "error" | "reset" | "lost_answer" | "cut_stream" | "slow" | "timeout";

export interface FaultProxy {
  url: string;
  /** Faults injected so far, by kind. */
  injected: Record<ProxyFault, number>;
  /** Probability of each fault per request (0 turns it off); changed at will (the drain phase sets none). */
  rates: Partial<Record<ProxyFault, number>>;
  close(): Promise<void>;
}

/**
 * Forwards every request to `target`, failing a share of them as `rates` says. `errorBody` is the provider's
 * own error envelope for an injected 5xx, so the SDK on the other side reads it as that provider's outage.
 * `timeoutMs`: how long a `timeout` fault holds the request before dropping it (the caller's own timeout
 * should come first).
 */
export async function startFaultProxy(opts: {
  target: string;
  random: Random;
  rates: Partial<Record<ProxyFault, number>>;
  errorBody: (status: number) => unknown;
  timeoutMs?: number;
}): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const injected: Record<ProxyFault, number> = { error: 0, reset: 0, lost_answer: 0, cut_stream: 0, slow: 0, timeout: 0 };
  const proxy: FaultProxy = { url: "", injected, rates: opts.rates, close: async () => {} };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const choose = (): ProxyFault | undefined => {
    for (const [fault, p] of Object.entries(proxy.rates) as [ProxyFault, number][]) {
      if (p > 0 && opts.random.chance(p)) return fault;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, body: Buffer, onResponse: (up: IncomingMessage) => void, onError: () => void) => {
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      onResponse,
    );
    up.on("error", onError);
    up.end(body);
    return up;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const fault = req.url?.startsWith("/_test/") ? undefined : choose();
      if (fault) injected[fault]++;
      const drop = () => res.socket?.destroy();
      switch (fault) {
        case "error": {
          const status = opts.random.pick([500, 502, 503]);
          res.writeHead(status, { "content-type": "application/json" });
          return res.end(JSON.stringify(opts.errorBody(status)));
        }
        case "reset":
          return drop();
        case "timeout": {
          // Held until the caller gives up (its timeout), or dropped after timeoutMs.
          const timer = setTimeout(drop, opts.timeoutMs ?? 60_000);
          res.on("close", () => clearTimeout(timer));
          return;
        }
        case "slow":
          await sleep(opts.random.int(200, 1500));
          break;
      }
      forward(req, body, (up) => {
        if (fault === "lost_answer") {
          // The provider did the work and answered; the answer never arrives.
          up.resume();
          up.on("end", drop);
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (fault === "cut_stream") {
          // The first piece arrives, then the connection dies (a stream broken off midway).
          up.once("data", (d: Buffer) => {
            res.write(d);
            setTimeout(() => (up.destroy(), drop()), 20);
          });
          return;
        }
        up.pipe(res);
      }, () => (res.headersSent ? drop() : res.writeHead(502).end()));
      res.on("close", () => {
        if (!res.writableFinished) req.destroy();
      });
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return proxy;
}
