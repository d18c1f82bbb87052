// The outbox worker as separate processes (src/local/deno/email-worker.ts: the send-email function's code on
// real Deno) against the global stack's database and a provider server of this file's own: a worker killed
// (SIGKILL) mid-batch, its claims taken over once their lease lapses and nothing the provider accepted sent
// twice (Resend's Idempotency-Key); concurrent worker processes sending each mail once; Postmark and SendGrid
// through their APIs (429 and 5xx retried, a refused recipient failed); the console provider's local sink.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { denoProcessEnv } from "../src/local/deno-env.ts";
import { DENO_BIN, FUNCTIONS_DIR, ROOT } from "../src/local/paths.ts";
import { tempDir } from "../src/local/throwaway.ts";
import { type MailProvider, startEmailServers } from "./support/email-servers.ts";
import { connectDb, stack } from "./support/stack.ts";

const sql = connectDb(4);
let servers: Awaited<ReturnType<typeof startEmailServers>>;
const sink = tempDir("saasbase-mail-sink-");

beforeAll(async () => {
  servers = await startEmailServers();
  // What other test files left queued is sent first, so that what follows claims this file's mails only.
  await run("resend");
});
afterAll(async () => {
  await servers.close();
  await sql.end();
  rmSync(sink, { recursive: true, force: true });
});
beforeEach(() => {
  servers.reset();
  servers.latency(0);
});

const uniq = () => crypto.randomUUID().slice(0, 8);

function worker(provider: MailProvider | "console", args: string[] = []): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(DENO_BIN, ["run", "--allow-all", "--no-prompt", "--config", join(FUNCTIONS_DIR, "deno.json"),
    join(ROOT, "src/local/deno/email-worker.ts"), ...args], {
    env: {
      ...denoProcessEnv(),
      NO_COLOR: "1",
      SUPABASE_DB_URL: stack().dbUrl,
      SUPABASE_URL: stack().apiUrl,
      SUPABASE_SERVICE_ROLE_KEY: stack().serviceRoleKey,
      ...servers.env,
      SAASBASE_EMAIL_PROVIDER: provider,
      SAASBASE_MAIL_SINK: sink,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.once("exit", (code) => resolve({ code, out })));
  return { child, done };
}

async function run(provider: MailProvider | "console", args: string[] = []) {
  const { code, out } = await worker(provider, args).done;
  expect(code, out).toBe(0);
  return JSON.parse(out.trim().split("\n").at(-1)!) as { claimed: number; sent: number; retried: number; failed: number };
}

/** Mails of this test: welcome mails to addresses of their own. */
async function queue(n: number, prefix: string) {
  const tag = uniq();
  const rows = await sql`insert into public.email_outbox (template, dedupe_key, payload, to_email)
    select 'welcome', ${`t_w_${tag}_`} || i, '{}', ${`${prefix}-${tag}-`} || i || '@test.local'
    from generate_series(1, ${n}) i returning id, to_email`;
  return { ids: rows.map((r) => Number(r.id)), to: rows.map((r) => r.to_email as string) };
}

const rowsOf = (ids: number[]) =>
  sql`select id, status, attempts, to_email, provider, provider_message_id, last_error, claimed_by
    from public.email_outbox where id = any(${ids}) order by id`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a worker killed mid-batch", () => {
  it("leaves its claims to lapse; another worker takes them over and sends nothing twice", async () => {
    const { ids, to } = await queue(12, "killed");
    // The provider accepts the first mails but answers them only after a minute: the worker is killed meanwhile,
    // with mails accepted that it never recorded.
    servers.script("resend", ...Array.from({ length: 4 }, () => ({ acceptThenDelayMs: 60_000 })));
    const doomed = worker("resend", ["--lease", "5", "--batch", "12", "--concurrency", "4", "--worker", "doomed"]);
    const deadline = Date.now() + 30_000;
    let exited = false;
    void doomed.done.then(() => (exited = true));
    while (servers.state.delivered.filter((d) => to.includes(d.to)).length < 4 && Date.now() < deadline && !exited) {
      await sleep(50);
    }
    doomed.child.kill("SIGKILL");
    const { code, out } = await doomed.done;
    expect(code, out).toBeNull(); // killed, not exited
    const accepted = servers.state.delivered.filter((d) => to.includes(d.to));
    expect(accepted).toHaveLength(4);
    const held = await rowsOf(ids);
    expect(held.filter((r) => r.status === "sending" && r.claimed_by === "doomed").length).toBeGreaterThanOrEqual(4);

    // Within the lease nobody takes them; once it lapsed, the next worker does.
    const early = await run("resend", ["--worker", "early"]);
    expect(early.claimed).toBe(0);
    await sleep(5_500);
    const rescue = await run("resend", ["--worker", "rescue"]);
    expect(rescue.sent).toBeGreaterThanOrEqual(12);

    const rows = await rowsOf(ids);
    expect(rows.every((r) => r.status === "sent")).toBe(true);
    const delivered = servers.state.delivered.filter((d) => to.includes(d.to));
    expect(delivered).toHaveLength(12); // the four accepted before the kill were not sent again
    for (const r of rows) {
      const mine = delivered.filter((d) => d.to === r.to_email);
      expect(mine).toHaveLength(1);
      expect(mine[0].id).toBe(r.provider_message_id); // Resend answered the replay with the first id
    }
    for (const a of accepted) expect(rows.find((r) => r.to_email === a.to)!.attempts).toBe(2);
  });
});

describe("concurrent worker processes", () => {
  it("send each mail once", async () => {
    const { ids, to } = await queue(60, "race");
    servers.latency(100); // a provider's pace: no one run finishes before the others have started
    const reports = await Promise.all(Array.from({ length: 4 }, (_, i) =>
      run("resend", ["--batch", "5", "--concurrency", "2", "--worker", `race-${i}`])));
    expect(reports.reduce((n, r) => n + r.claimed, 0)).toBeGreaterThanOrEqual(60);
    const delivered = servers.state.delivered.filter((d) => to.includes(d.to));
    expect(delivered).toHaveLength(60);
    expect(new Set(delivered.map((d) => d.to)).size).toBe(60);
    expect((await rowsOf(ids)).every((r) => r.status === "sent")).toBe(true);
    // Every run worked: SKIP LOCKED let them share the outbox rather than queue behind each other.
    expect(reports.filter((r) => r.claimed > 0).length).toBeGreaterThan(1);
  });
});

describe("providers", () => {
  for (const provider of ["postmark", "sendgrid"] as const) {
    it(`${provider}: sends through its API, retries 429 and 5xx, records its message id`, async () => {
      const { ids, to } = await queue(3, provider);
      servers.script(provider, { status: 429, retryAfter: 1 }, { status: 503 });
      const first = await run(provider, ["--concurrency", "1"]);
      expect(first.retried).toBeGreaterThanOrEqual(2);
      let rows = await rowsOf(ids);
      expect(rows.filter((r) => r.status === "sent")).toHaveLength(1);
      const retried = rows.filter((r) => r.status === "pending");
      expect(retried).toHaveLength(2);
      expect(retried.map((r) => r.last_error).join(" ")).toMatch(/429[\s\S]*503|503[\s\S]*429/);
      await sql`update public.email_outbox set next_attempt_at = now() where id = any(${ids}) and status = 'pending'`;
      await run(provider);
      rows = await rowsOf(ids);
      expect(rows.every((r) => r.status === "sent" && r.provider === provider)).toBe(true);
      const delivered = servers.state.delivered.filter((d) => to.includes(d.to));
      expect(delivered).toHaveLength(3);
      for (const r of rows) {
        const d = delivered.find((x) => x.to === r.to_email)!;
        expect(d.id).toBe(r.provider_message_id);
        expect(d.subject).toMatch(/welcome/i);
        expect(d.text.length).toBeGreaterThan(0);
        expect(d.html).toContain("<");
        expect(d.tags.outbox_id).toBe(String(r.id));
        expect(d.idempotencyKey).toBe(`outbox/${r.id}`);
      }
    });
  }

  it("postmark: a recipient Postmark marked inactive (422, ErrorCode 406) fails at once", async () => {
    const [row] = await sql`insert into public.email_outbox (template, dedupe_key, payload, to_email)
      values ('welcome', ${`t_inactive_${uniq()}`}, '{}', ${`gone-${uniq()}@inactive.test`}) returning id`;
    await run("postmark");
    const [r] = await rowsOf([Number(row.id)]);
    expect([r.status, r.attempts]).toEqual(["failed", 1]);
    expect(r.last_error).toContain("inactive");
  });

  it("console: writes each mail to the local sink with an index, once per mail", async () => {
    const { ids, to } = await queue(2, "console");
    await run("console");
    const rows = await rowsOf(ids);
    expect(rows.every((r) => r.status === "sent" && r.provider === "console")).toBe(true);
    const index = readFileSync(join(sink, "index.html"), "utf8");
    for (const address of to) expect(index).toContain(address);
    const files = readdirSync(sink).filter((f) => f.endsWith(".json"));
    const entries = files.map((f) => JSON.parse(readFileSync(join(sink, f), "utf8")));
    for (const r of rows) {
      const e = entries.find((x) => x.to === r.to_email);
      expect(`console-${e.id}`).toBe(r.provider_message_id);
      expect(existsSync(join(sink, `${e.id}.html`))).toBe(true);
      expect(readFileSync(join(sink, `${e.id}.txt`), "utf8").length).toBeGreaterThan(0);
    }
    // The same mail again (a worker taking over a dead one's claim): the sink keeps one copy.
    await sql`update public.email_outbox set status = 'pending', next_attempt_at = now() where id = any(${ids})`;
    await run("console");
    expect(readdirSync(sink).filter((f) => f.endsWith(".json"))).toHaveLength(files.length);
  });
});
