// ERROR_CODES is the contract frontends match on: it must hold every code the backend raises, with the
// status it comes with, and nothing the backend no longer raises. Read out of the sources themselves: the
// SQL API's refusals in the migrations, and the functions' thrown errors.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../supabase/functions/_shared/error-codes.ts";

const ROOT = join(import.meta.dirname, "..");
const codes: Record<string, number> = ERROR_CODES;

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "tests" ? [] : files(path, ext);
    return path.endsWith(ext) ? [path] : [];
  });
}
const read = (paths: string[]) => paths.map((p) => readFileSync(p, "utf8")).join("\n");
const migrations = read(files(join(ROOT, "supabase/migrations"), ".sql"));
const functions = read(files(join(ROOT, "supabase/functions"), ".ts").filter((p) => !p.endsWith("error-codes.ts")));
const client = read(files(join(ROOT, "src/client"), ".ts"));

/** (code, status) pairs the SQL API raises: saasbase.fail('PT402', 'insufficient_credits', ...) and
 * `raise ... using errcode = 'PT403', detail = 'ledger_append_only'`. */
function sqlRefusals(): [string, number][] {
  const pairs = [
    ...migrations.matchAll(/fail\('PT(\d{3})',\s*'([a-z_]+)'/g),
    ...migrations.matchAll(/errcode = 'PT(\d{3})',\s*detail = '([a-z_]+)'/g),
  ];
  return pairs.map((m) => [m[2], Number(m[1])]);
}

const STATUS_OF_CLASS: Record<string, number> = {
  BadRequestError: 400,
  UnauthorizedError: 401,
  ForbiddenError: 403,
  NotFoundError: 404,
  ConflictError: 409,
  ServiceUnavailableError: 503,
};

/** (code, status) pairs the functions throw: `new NotFoundError(message, "code")`, `new AppError(502, "code", ...)`. */
function functionErrors(): [string, number][] {
  const pairs: [string, number][] = [];
  for (const m of functions.matchAll(/new (\w+Error)\(([\s\S]*?)\);/g)) {
    const [, cls, args] = m;
    const app = /^\s*(\d{3}),\s*"([a-z_]+)"/.exec(args);
    if (cls === "AppError" && app) pairs.push([app[2], Number(app[1])]);
    const code = [...args.matchAll(/"([a-z_]+)"/g)].at(-1)?.[1];
    if (STATUS_OF_CLASS[cls] && code) pairs.push([code, STATUS_OF_CLASS[cls]]);
  }
  return pairs;
}

/** Codes a stream reports in its `error` event after its 200 (chat's SSE: `sse("error", { code: "..." })`). */
function streamErrors(): string[] {
  return [...functions.matchAll(/sse\("error",\s*\{\s*code:\s*"([a-z_]+)"/g)].map((m) => m[1]);
}

describe("ERROR_CODES", () => {
  it("holds every code the SQL API raises, with its status", () => {
    const raised = sqlRefusals();
    expect(raised.length).toBeGreaterThan(20);
    for (const [code, status] of raised) expect([code, codes[code]]).toEqual([code, status]);
  });

  it("holds every code the functions throw, with its status", () => {
    const thrown = functionErrors();
    expect(thrown.length).toBeGreaterThan(10);
    for (const [code, status] of thrown) expect([code, codes[code]]).toEqual([code, status]);
  });

  it("holds every code a stream reports in its error event", () => {
    const reported = streamErrors();
    expect(reported.length).toBeGreaterThan(0);
    for (const code of reported) expect([code, code in codes]).toEqual([code, true]);
  });

  it("lists nothing the backend or the client no longer uses", () => {
    const everywhere = `${migrations}\n${functions}\n${client}`;
    const unused = Object.keys(codes).filter((code) => !new RegExp(`["']${code}["']`).test(everywhere));
    expect(unused).toEqual([]);
  });
});
