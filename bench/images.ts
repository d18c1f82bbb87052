// bench/images: the latency the generate-image function adds to an image, over calling the same local image
// upstream directly. The upstream (tests/support/image-servers.ts, in a process of its own) answers Gemini's
// generateContent with a PNG after a fixed pace; "direct" is that request as the function makes it (fetch, the
// key, the prompt and aspect ratio, the JSON answer read), "function" is POST /generate-image through the local
// gateway: auth, the body's checks, the hold in SQL, the same upstream call, the upload to Storage, the
// settlement and the signed URL. p50 and p95 of each, at 1 and 16 concurrent clients, interleaved in halves so
// a slower spell of the machine falls on both; added = function - direct. Every function answer must be 200
// with a succeeded generation and a signed URL; after the run the books must agree: each paid image charged
// its image_price, nothing left pending or held, one stored object per image.
//   npm run bench:images            (BENCH_REQUESTS=200 per level, BENCH_PACE_MS=0)
import { Agent, request } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../src/local/database.ts";
import { userToken } from "../src/local/jwt.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { startService } from "./support/service.ts";
import type { StackInfo, StackServiceOptions } from "./support/stack-service.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const PACE_MS = Number(process.env.BENCH_PACE_MS ?? 0);
const CLIENTS = [1, 16];
const USERS = 64;
const MODEL = "gemini-2.5-flash-image";

const dir = tempDir("saasbase-bench-images-");
const upstream = await startService<{ url: string; geminiBase: string }>(join(import.meta.dirname, "support/image-service.ts"), {});
const stackService = await startService<StackInfo>(join(import.meta.dirname, "support/stack-service.ts"), {
  dataDir: join(dir, "db"),
  functions: ["generate-image"],
  functionEnv: {
    SAASBASE_DB_POOL_SIZE: "20",
    GEMINI_IMAGE_BASE_URL: upstream.info.geminiBase,
    GEMINI_API_KEY: "bench-gemini",
    OPENAI_IMAGES_BASE_URL: `${upstream.info.url}/openai/v1`,
    OPENAI_API_KEY: "bench-openai",
  },
  functionsLogFile: join(dir, "functions.log"),
} satisfies StackServiceOptions);
const stack = stackService.info;
const sql = connect(stack.dbUrl, 4);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(url: URL, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

try {
  await upstream.send({ delayMs: PACE_MS });
  const users = (await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select gen_random_uuid(), 'authenticated', 'authenticated', 'img' || n || '@bench.local', '{}', '{}', now(), now()
    from generate_series(1, ${USERS}) n
    returning id`).map((r) => r.id as string);
  // Paid images (the free allowance used up), with credits to spare: every request is held, charged, settled.
  await sql`insert into public.usage_counters (account_id, feature_id, period_key, used)
    select u, 'coloring_page', 'lifetime', 3 from unnest(${users}::uuid[]) u`;
  await sql`select public.service_role_grant_credits(u, 1000000, 'grant', 'bench') from unnest(${users}::uuid[]) u`;
  const [{ price }] = await sql`select saasbase.image_price(${MODEL}, '1024x1024') as price`;
  const tokens = await Promise.all(users.map((id) => userToken({ id }, stack.jwtSecret)));

  const fn = new URL(`${stack.functionsUrl}/generate-image`);
  const direct = new URL(`${upstream.info.geminiBase}/models/${MODEL}:generateContent`);
  let seq = 0;
  const failures: string[] = [];
  async function once(mode: "direct" | "function"): Promise<number> {
    const n = seq++;
    const prompt = `a coloring page of animal ${n}`;
    const started = performance.now();
    if (mode === "direct") {
      const res = await post(direct, { "x-goog-api-key": "bench-gemini" }, JSON.stringify({
        contents: [{ role: "user", parts: [{ text: prompt }] }],
        generationConfig: { responseModalities: ["IMAGE"], imageConfig: { aspectRatio: "1:1" } },
      }));
      const ms = performance.now() - started;
      const data = res.status === 200 ? JSON.parse(res.body).candidates?.[0]?.content?.parts?.[1]?.inlineData?.data : null;
      if (!data) failures.push(`direct ${res.status} ${res.body.slice(0, 200)}`);
      return ms;
    }
    const res = await post(fn, { authorization: `Bearer ${tokens[n % USERS]}` }, JSON.stringify({ prompt }));
    const ms = performance.now() - started;
    const body = res.status === 200 ? JSON.parse(res.body) : null;
    if (body?.generation?.status !== "succeeded" || !body.generation.image?.url || body.usage.credits_charged !== price) {
      failures.push(`function ${res.status} ${res.body.slice(0, 200)}`);
    }
    return ms;
  }
  async function run(mode: "direct" | "function", clients: number, count: number): Promise<number[]> {
    let left = count;
    const times: number[] = [];
    await Promise.all(Array.from({ length: clients }, async () => {
      while (left-- > 0) times.push(await once(mode));
    }));
    return times;
  }

  // Warm-up: Deno's JIT, the pool's connections, the prepared statements, Storage's folders.
  await run("direct", 16, 64);
  await run("function", 16, 64);
  await run("function", 1, 16);

  console.log(`bench/images: POST /generate-image against Gemini's generateContent called directly, ${REQUESTS} requests per level, upstream pace ${PACE_MS} ms\n`);
  console.log("clients   direct p50   direct p95   function p50   function p95   added p50   added p95");
  for (const clients of CLIENTS) {
    const d: number[] = [];
    const f: number[] = [];
    for (let half = 0; half < 2; half++) {
      d.push(...await run("direct", clients, REQUESTS / 2));
      f.push(...await run("function", clients, REQUESTS / 2));
    }
    const [d50, d95, f50, f95] = [quantile(d, 0.5), quantile(d, 0.95), quantile(f, 0.5), quantile(f, 0.95)];
    const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(12);
    console.log(`${String(clients).padStart(7)} ${ms(d50)} ${ms(d95)} ${ms(f50).padStart(14)} ${ms(f95).padStart(14)} ${ms(f50 - d50)} ${ms(f95 - d95)}`);
  }

  // The books: every image charged its price once, nothing pending or held, one object per image.
  const [books] = await sql`select count(*)::int as images, coalesce(sum(cost), 0)::int as charged,
      count(*) filter (where status <> 'succeeded')::int as other,
      (select count(*)::int from storage.objects where bucket_id = 'generations') as objects,
      (select coalesce(sum(reserved), 0)::int from public.wallets where account_id = any(${users}::uuid[])) as held
    from public.generations`;
  console.log(`\nimages ${books.images}, charged ${books.charged} credits (${price} each), not succeeded ${books.other}, ` +
    `stored objects ${books.objects}, still held ${books.held}; failed answers ${failures.length}`);
  for (const f of failures.slice(0, 5)) console.log(`  ${f}`);
  if (failures.length || books.other || books.held || books.charged !== books.images * price || books.objects !== books.images) {
    process.exitCode = 1;
  }
} finally {
  agent.destroy();
  await sql.end();
  await stackService.stop();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
}
