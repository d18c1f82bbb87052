// User secrets through the `secrets` function (real Deno, real Postgres), with the key the test stack made for
// itself exactly as `npm run dev` makes one (tests/support/test-stack.ts gives the functions no key of its own):
// what is stored is encrypted (the table's ciphertext is not the value, and decrypts to it under the stack's key
// bound to its row), the list shows the last 4 only, a team's secret follows the team's rights, bad input is a
// 4xx that stores nothing, a function without keys answers 503 JSON and stores nothing, and rotation moves every
// secret to a new key without losing a value written while it runs (through the function's route and
// `npm run secrets:rotate`), then back.
import { execFile } from "node:child_process";
import type { Server } from "node:http";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, FunctionWorkers } from "../src/local/functions.ts";
import { createGateway, listen } from "../src/local/gateway.ts";
import { SUPABASE_DIR } from "../src/local/paths.ts";
import { localSecretsKeys } from "../src/local/secrets-key.ts";
import { readProjectConfig } from "../src/local/supabase-config.ts";
import { openSecret } from "../supabase/functions/_shared/secrets/cipher.ts";
import { type Keyring, keyringFrom, newKeyBase64 } from "../supabase/functions/_shared/secrets/keyring.ts";
import { rotateSecrets } from "../supabase/functions/_shared/secrets/rotate.ts";
import { asUser, callFunction, connectDb, createUser, stack } from "./support/stack.ts";

const sql = connectDb(6);
const json = { "content-type": "application/json" };
type User = { id: string; token: string };

/** A secrets function of its own, behind a gateway, with the function env given (another key set, or none). */
async function secretsFunction(env: Record<string, string>) {
  const spec = readProjectConfig(SUPABASE_DIR).functions.find((f) => f.name === "secrets")!;
  const workers = new FunctionWorkers([spec], {
    env: { SUPABASE_DB_URL: stack().dbUrl, SUPABASE_SERVICE_ROLE_KEY: stack().serviceRoleKey, ...env },
    logFile: stack().functionsLog,
  });
  await workers.start();
  const gateway: Server = createGateway(workers, stack().jwtSecret);
  const port = await freePort();
  await listen(gateway, port);
  return {
    call(path: string, init: RequestInit & { token?: string } = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set("authorization", `Bearer ${init.token}`);
      return fetch(`http://127.0.0.1:${port}/functions/v1/${path}`, { ...init, headers });
    },
    async stop() {
      gateway.closeAllConnections();
      await new Promise((r) => gateway.close(r));
      await workers.stop();
    },
  };
}

const put = (user: User, provider: string, value: unknown, account?: string) =>
  callFunction(`secrets/${provider}`, {
    method: "PUT", token: user.token, headers: { ...json, ...(account ? { "x-account-id": account } : {}) },
    body: JSON.stringify({ value }),
  });

async function rows(accountId: string) {
  return await sql<{ provider: string; ciphertext: Buffer; nonce: Buffer; key_id: string; last4: string }[]>`
    select provider, ciphertext, nonce, key_id, last4 from public.user_secrets where account_id = ${accountId} order by provider`;
}

/** The stored value of a row, decrypted here with `keyring`: what a function would get. */
async function decrypted(keyring: Keyring, accountId: string, provider: string) {
  const [r] = await sql`select ciphertext, nonce, key_id from public.user_secrets
    where account_id = ${accountId} and provider = ${provider}`;
  return openSecret(keyring, { accountId, provider }, { ciphertext: new Uint8Array(r.ciphertext), nonce: new Uint8Array(r.nonce), keyId: r.key_id });
}

const stackKeys = () => localSecretsKeys(stack().secretsKeyFile);
const env = (vars: Record<string, string>) => (name: string) => vars[name];

let alice: User;
let bob: User;
let local: Keyring;

beforeAll(async () => {
  alice = await createUser(sql, `secrets-alice-${crypto.randomUUID()}@test.local`);
  bob = await createUser(sql, `secrets-bob-${crypto.randomUUID()}@test.local`);
  local = await keyringFrom(env({ ...stackKeys() }));
});
afterAll(() => sql.end());

describe("the stack's own key", () => {
  it("is made in the state folder, readable by its owner alone, and is what the functions encrypt with", async () => {
    const { statSync } = await import("node:fs");
    expect(statSync(stack().secretsKeyFile).mode & 0o777).toBe(0o600);
    expect(stackKeys().SAASBASE_SECRETS_KEY_ID).toBe("local-1");
    expect(JSON.parse(stackKeys().SAASBASE_SECRETS_KEYS)["local-1"]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
});

describe("storing, listing, deleting", () => {
  const value = "v1:sk-live-Zq81xkLmN0pQr5Tu";

  it("stores the value encrypted: the table holds a ciphertext that is not the value and decrypts to it, bound to its row", async () => {
    const res = await put(alice, "v0", value);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ provider: "v0", last4: "r5Tu", created_by: alice.id });
    expect(JSON.stringify(body)).not.toContain(value.slice(0, -4));

    const [row] = await rows(alice.id);
    expect(row.key_id).toBe("local-1");
    expect(row.ciphertext.toString("latin1")).not.toContain(value);
    expect(row.ciphertext.toString("latin1")).not.toContain(value.slice(3, 12));
    expect(row.ciphertext.length).toBe(value.length + 16);
    expect(row.nonce.length).toBe(12);
    expect(await decrypted(local, alice.id, "v0")).toBe(value);
    // Bound to alice's row: the same bytes read as bob's do not decrypt.
    await expect(openSecret(local, { accountId: bob.id, provider: "v0" }, { ciphertext: new Uint8Array(row.ciphertext),
      nonce: new Uint8Array(row.nonce), keyId: row.key_id })).rejects.toMatchObject({ code: "secret_unreadable" });
  });

  it("lists provider, last 4 and times only; the value is in no answer", async () => {
    await put(alice, "openai", "sk-proj-abcdefghijklmnop");
    const res = await callFunction("secrets", { token: alice.token });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(value.slice(0, -4));
    expect(text).not.toContain("sk-proj-abcdefghijkl");
    const { secrets } = JSON.parse(text);
    expect(secrets.map((s: Record<string, unknown>) => Object.keys(s).sort())).toEqual([
      ["created_at", "created_by", "last4", "provider", "updated_at"],
      ["created_at", "created_by", "last4", "provider", "updated_at"],
    ]);
    expect(secrets.map((s: { provider: string; last4: string }) => [s.provider, s.last4]).sort()).toEqual([
      ["openai", "mnop"], ["v0", "r5Tu"],
    ]);
    // Bob sees none of alice's.
    expect((await (await callFunction("secrets", { token: bob.token })).json()).secrets).toEqual([]);
  });

  it("replaces a value (one row, a new ciphertext, created_at kept) and deletes it", async () => {
    const [before] = await sql`select created_at, nonce from public.user_secrets where account_id = ${alice.id} and provider = 'v0'`;
    expect((await put(alice, "v0", "v1:replaced-value-9999")).status).toBe(200);
    const [after] = await sql`select created_at, updated_at, nonce from public.user_secrets where account_id = ${alice.id} and provider = 'v0'`;
    expect(after.created_at).toEqual(before.created_at);
    expect(after.updated_at.getTime()).toBeGreaterThanOrEqual(before.created_at.getTime());
    expect(after.nonce).not.toEqual(before.nonce);
    expect(await decrypted(local, alice.id, "v0")).toBe("v1:replaced-value-9999");

    const del = await callFunction("secrets/openai", { method: "DELETE", token: alice.token });
    expect([del.status, await del.json()]).toEqual([200, { deleted: true, provider: "openai" }]);
    expect((await rows(alice.id)).map((r) => r.provider)).toEqual(["v0"]);
    const again = await callFunction("secrets/openai", { method: "DELETE", token: alice.token });
    expect([again.status, (await again.json()).error.code]).toEqual([404, "secret_not_found"]);
  });
});

describe("a team's secret", () => {
  it("is set by an owner (manage_team), listed by members, refused to other roles and strangers", async () => {
    const owner = await createUser(sql, `secrets-owner-${crypto.randomUUID()}@test.local`);
    const admin = await createUser(sql, `secrets-admin-${crypto.randomUUID()}@test.local`);
    const member = await createUser(sql, `secrets-member-${crypto.randomUUID()}@test.local`);
    const [team] = await sql`insert into public.accounts (kind, name, slug, created_by)
      values ('team', 'Secret team', ${`st-${crypto.randomUUID().slice(0, 8)}`}, ${owner.id}) returning id`;
    await sql`insert into public.account_members (account_id, user_id, role) values
      (${team.id}, ${owner.id}, 'owner'), (${team.id}, ${admin.id}, 'admin'), (${team.id}, ${member.id}, 'member')`;

    const refused = async (res: Response) => [res.status, (await res.json()).error.code];
    expect(await refused(await put(admin, "v0", "team-key-12345678", team.id))).toEqual([403, "account_forbidden"]);
    expect(await refused(await put(member, "v0", "team-key-12345678", team.id))).toEqual([403, "account_forbidden"]);
    expect(await refused(await put(bob, "v0", "team-key-12345678", team.id))).toEqual([404, "account_not_found"]);
    expect(await rows(team.id)).toEqual([]);

    expect((await put(owner, "v0", "team-key-12345678", team.id)).status).toBe(200);
    expect(await decrypted(local, team.id, "v0")).toBe("team-key-12345678");
    expect((await rows(owner.id))).toEqual([]); // the team's, not the owner's personal account's

    const listed = await callFunction("secrets", { token: member.token, headers: { "x-account-id": team.id } });
    expect((await listed.json()).secrets.map((s: { last4: string }) => s.last4)).toEqual(["5678"]);
    expect(await refused(await callFunction("secrets", { token: bob.token, headers: { "x-account-id": team.id } })))
      .toEqual([404, "account_not_found"]);
    expect(await refused(await callFunction("secrets/v0", { method: "DELETE", token: member.token,
      headers: { "x-account-id": team.id } }))).toEqual([403, "account_forbidden"]);
    expect((await rows(team.id)).length).toBe(1);
  });
});

describe("with an API key", () => {
  const makeKey = async (userId: string, scopes: string[] | null, account?: string) =>
    (await asUser(sql, userId, (tx) =>
      tx`select key from public.create_api_key('secrets test', ${scopes}, null, ${account ?? null})`))[0].key as string;
  // A key travels in x-api-key with the anon key as bearer (verify_jwt is on: docs/api-keys.md); a fresh client
  // IP each time keeps the per-IP limit out of the way.
  const withKey = (path: string, key: string, init: RequestInit = {}) =>
    callFunction(path, { ...init, token: stack().anonKey, headers: { "x-api-key": key,
      "x-forwarded-for": `10.77.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
      ...(init.headers as Record<string, string>) } });
  const putWith = (key: string, provider: string, value: string, headers: Record<string, string> = {}) =>
    withKey(`secrets/${provider}`, key, { method: "PUT", headers: { ...json, ...headers }, body: JSON.stringify({ value }) });
  const code = async (res: Response) => [res.status, (await res.json()).error?.code];

  it("stores and lists for the key's account, within the key's scopes", async () => {
    const erin = await createUser(sql, `secrets-erin-${crypto.randomUUID()}@test.local`);
    const key = await makeKey(erin.id, ["secrets"]);
    expect((await putWith(key, "v0", "erin-v0-key-4321")).status).toBe(200);
    expect(await decrypted(local, erin.id, "v0")).toBe("erin-v0-key-4321");
    const listed = await (await withKey("secrets", key)).json();
    expect(listed.secrets.map((x: { last4: string }) => x.last4)).toEqual(["4321"]);
    // A key without the secrets scope (an MCP client's, say) may not touch them.
    const mcpOnly = await makeKey(erin.id, ["mcp"]);
    expect(await code(await putWith(mcpOnly, "v0", "other-value-0000"))).toEqual([403, "api_key_scope"]);
    expect(await code(await withKey("secrets", mcpOnly))).toEqual([403, "api_key_scope"]);
    expect(await decrypted(local, erin.id, "v0")).toBe("erin-v0-key-4321");
  });

  it("a team key acts for the team with its member's rights; another X-Account-Id is refused", async () => {
    const owner = await createUser(sql, `secrets-kowner-${crypto.randomUUID()}@test.local`);
    const member = await createUser(sql, `secrets-kmember-${crypto.randomUUID()}@test.local`);
    const team = await asUser(sql, owner.id, async (tx) =>
      (await tx`select (public.create_team('Key secrets', ${`ks-${crypto.randomUUID().slice(0, 8)}`})).id`)[0].id as string);
    await sql`insert into public.account_members (account_id, user_id, role) values (${team}, ${member.id}, 'member')`;
    const ownerKey = await makeKey(owner.id, null, team);
    const memberKey = await makeKey(member.id, null, team);
    expect((await putWith(ownerKey, "v0", "team-key-by-key-7777")).status).toBe(200);
    expect(await decrypted(local, team, "v0")).toBe("team-key-by-key-7777");
    expect(await rows(owner.id)).toEqual([]); // the key's account, not the owner's personal one
    expect(await code(await putWith(memberKey, "v0", "member-try-0000"))).toEqual([403, "account_forbidden"]);
    expect((await (await withKey("secrets", memberKey)).json()).secrets.map((x: { last4: string }) => x.last4))
      .toEqual(["7777"]);
    expect(await code(await putWith(ownerKey, "v0", "elsewhere-0000", { "x-account-id": owner.id })))
      .toEqual([403, "account_forbidden"]);
    expect(await decrypted(local, team, "v0")).toBe("team-key-by-key-7777");
  });
});

describe("bad input", () => {
  it("is a 4xx JSON error and stores nothing", async () => {
    const carol = await createUser(sql, `secrets-carol-${crypto.randomUUID()}@test.local`);
    const cases: [string, RequestInit & { token?: string }][] = [
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "short" }) }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "with a space in it" }) }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "tab\tinside-it" }) }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "clé-secrète-1234" }) }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "x".repeat(4097) }) }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: 12345678 }) }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: "{}" }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: json, body: "not json" }],
      ["secrets/V0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets/-v0", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      [`secrets/${"p".repeat(64)}`, { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets/v0%00", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets/v0/extra", { method: "PUT", token: carol.token, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets/v0", { method: "PUT", token: carol.token, headers: { ...json, "x-account-id": "not-a-uuid" }, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets/v0", { method: "PUT", token: stack().anonKey, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets/v0", { method: "PUT", token: stack().serviceRoleKey, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets/v0", { method: "GET", token: carol.token }],
      ["secrets/v0", { method: "POST", token: carol.token, headers: json, body: JSON.stringify({ value: "valid-value-1234" }) }],
      ["secrets", { method: "POST", token: carol.token, headers: json, body: "{}" }],
      ["secrets/rotate", { method: "POST", token: carol.token, headers: json, body: "{}" }],
      ["secrets/rotate", { method: "POST", token: stack().serviceRoleKey, headers: json, body: JSON.stringify({ batch_size: 0 }) }],
      ["secrets", { method: "GET", token: stack().anonKey }],
      ["secrets", { method: "GET" }],
    ];
    const answers: string[] = [];
    for (const [path, init] of cases) {
      const res = await callFunction(path, init);
      const body = await res.json().catch(() => null);
      const ok = res.status >= 400 && res.status < 500 && (typeof body?.error?.code === "string" || typeof body?.code === "number");
      if (!ok) answers.push(`${init.method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    }
    expect(answers).toEqual([]);
    expect(await rows(carol.id)).toEqual([]);
    // The same request with a good value goes through: the refusals above were the input's.
    expect((await put(carol, "v0", "valid-value-1234")).status).toBe(200);
  });
});

describe("without keys, or with the wrong ones", () => {
  it("answers 503 JSON and stores nothing when the function has no key", async () => {
    const fn = await secretsFunction({});
    try {
      const dave = await createUser(sql, `secrets-dave-${crypto.randomUUID()}@test.local`);
      const res = await fn.call("secrets/v0", { method: "PUT", token: dave.token, headers: json,
        body: JSON.stringify({ value: "would-be-plain-1234" }) });
      expect(res.status).toBe(503);
      expect((await res.json()).error).toMatchObject({ code: "secrets_not_configured" });
      expect(await rows(dave.id)).toEqual([]);
      // Listing needs no key (no value is read); rotating does.
      expect((await fn.call("secrets", { token: dave.token })).status).toBe(200);
      const rotate = await fn.call("secrets/rotate", { method: "POST", token: stack().serviceRoleKey });
      expect([rotate.status, (await rotate.json()).error.code]).toEqual([503, "secrets_not_configured"]);
    } finally {
      await fn.stop();
    }
  });

  it("a key of the same id that is not the stack's reads nothing: the rotation reports the rows and leaves them", async () => {
    const wrong = { SAASBASE_SECRETS_KEYS: JSON.stringify({ "local-1": newKeyBase64(), "k-new": newKeyBase64() }),
      SAASBASE_SECRETS_KEY_ID: "k-new" };
    const fn = await secretsFunction(wrong);
    try {
      const before = await sql`select account_id, provider, nonce from public.user_secrets order by 1, 2`;
      const res = await fn.call("secrets/rotate", { method: "POST", token: stack().serviceRoleKey, headers: json, body: "{}" });
      expect(res.status).toBe(200);
      const report = await res.json();
      expect(report.rotated).toBe(0);
      expect(report.failed.length).toBe(before.length);
      expect(new Set(report.failed.map((f: { code: string }) => f.code))).toEqual(new Set(["secret_unreadable"]));
      expect(report.remaining).toBe(before.length);
      expect(await sql`select account_id, provider, nonce from public.user_secrets order by 1, 2`).toEqual(before);
    } finally {
      await fn.stop();
    }
  });
});

describe("rotation", () => {
  const newKey = newKeyBase64();
  const rotatedEnv = () => ({
    SAASBASE_SECRETS_KEYS: JSON.stringify({ ...JSON.parse(stackKeys().SAASBASE_SECRETS_KEYS), "k-2": newKey }),
    SAASBASE_SECRETS_KEY_ID: "k-2",
  });
  const backEnv = () => ({ ...rotatedEnv(), SAASBASE_SECRETS_KEY_ID: "local-1" });

  /** Every secret in the database with its value, read with `keyring`. */
  async function everything(keyring: Keyring) {
    const all = await sql<{ account_id: string; provider: string }[]>`
      select account_id, provider from public.user_secrets order by 1, 2`;
    return Promise.all(all.map(async (r) => `${r.account_id}/${r.provider}=${await decrypted(keyring, r.account_id, r.provider)}`));
  }

  it("moves every secret to the new key through POST /secrets/rotate, idempotently, values unchanged", async () => {
    for (let i = 0; i < 7; i++) await put(bob, `p${i}`, `bob-value-${i}-abcdefgh`);
    const rotated = await keyringFrom(env(rotatedEnv()));
    const values = await everything(rotated);
    const fn = await secretsFunction(rotatedEnv());
    try {
      const res = await fn.call("secrets/rotate", { method: "POST", token: stack().serviceRoleKey, headers: json,
        body: JSON.stringify({ batch_size: 3 }) });
      expect(res.status).toBe(200);
      const report = await res.json();
      expect(report).toMatchObject({ key_id: "k-2", rotated: values.length, changed_meanwhile: 0, failed: [], remaining: 0 });
      expect((await sql`select distinct key_id from public.user_secrets`).map((r) => r.key_id)).toEqual(["k-2"]);
      expect(await everything(rotated)).toEqual(values);
      // The old key alone reads none of them now.
      await expect(decrypted(local, bob.id, "p0")).rejects.toMatchObject({ code: "secrets_key_unavailable" });
      // Again: nothing to do.
      const again = await (await fn.call("secrets/rotate", { method: "POST", token: stack().serviceRoleKey })).json();
      expect(again).toMatchObject({ rotated: 0, remaining: 0 });
    } finally {
      await fn.stop();
    }
    // And back to the stack's key with `npm run secrets:rotate`, so the rest of the suite reads them.
    const { stdout } = await promisify(execFile)("npx", ["tsx", "scripts/secrets-rotate.ts", "--batch-size", "2"], {
      env: { ...process.env, SUPABASE_DB_URL: stack().dbUrl, ...backEnv() },
    });
    expect(JSON.parse(stdout.slice(stdout.indexOf("{")))).toMatchObject({ key_id: "local-1", rotated: values.length, remaining: 0 });
    expect(await everything(local)).toEqual(values);
  });

  it("keeps a value stored while the rotation holds its row (compare-and-swap on the nonce)", async () => {
    const rotated = await keyringFrom(env(rotatedEnv()));
    const fn = await secretsFunction(rotatedEnv()); // a function already on the new keys, as during a real rotation
    try {
      // One deterministic race: bob stores a new p3 after the rotation read the old one, before it writes.
      let raced = 0;
      const report = await rotateSecrets(sql, rotated, {
        batchSize: 4,
        beforeWrite: async (row) => {
          if (row.account_id !== bob.id || row.provider !== "p3") return;
          raced++;
          const res = await fn.call("secrets/p3", { method: "PUT", token: bob.token, headers: json,
            body: JSON.stringify({ value: "bob-p3-written-during-rotation" }) });
          expect(res.status).toBe(200);
        },
      });
      expect(raced).toBe(1);
      expect(report.changed_meanwhile).toBe(1);
      expect(report.remaining).toBe(0);
      expect(await decrypted(rotated, bob.id, "p3")).toBe("bob-p3-written-during-rotation");

      // Many at once: every secret of bob's rewritten while a rotation back to the old key runs in small batches.
      const back = await keyringFrom(env(backEnv()));
      const writes = Array.from({ length: 7 }, (_, i) =>
        fn.call(`secrets/p${i}`, { method: "PUT", token: bob.token, headers: json,
          body: JSON.stringify({ value: `bob-final-${i}-zyxwvuts` }) }).then((r) => r.status));
      const [rotation, ...statuses] = await Promise.all([rotateSecrets(sql, back, { batchSize: 2 }), ...writes]);
      expect(statuses).toEqual(Array(7).fill(200));
      // Writes made under k-2 after the rotation passed their row remain under k-2: a second run picks them up.
      const second = await rotateSecrets(sql, back, { batchSize: 2 });
      expect(second.remaining).toBe(0);
      expect(rotation.failed).toEqual([]);
      for (let i = 0; i < 7; i++) expect(await decrypted(local, bob.id, `p${i}`)).toBe(`bob-final-${i}-zyxwvuts`);
      expect((await sql`select distinct key_id from public.user_secrets`).map((r) => r.key_id)).toEqual(["local-1"]);
    } finally {
      await fn.stop();
    }
  });
});
