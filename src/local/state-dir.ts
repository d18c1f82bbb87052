// Where `npm run dev` keeps its cluster: SAASBASE_STATE_DIR, else .saasbase in the project. Root started in a
// folder only root can enter (mktemp -d, /root/...) runs PostgreSQL as another account that cannot reach
// .saasbase there: its state then lives in a folder of its own under /var/tmp (kept across reboots), one per
// project folder, and dev says so.
import { createHash } from "node:crypto";
import { basename, join, resolve } from "node:path";
import { ROOT, STATE_DIR } from "./paths.ts";
import { serverCanReach, serverUser } from "./postgres.ts";

export function stateDir(env: NodeJS.ProcessEnv = process.env): { dir: string; note?: string } {
  if (env.SAASBASE_STATE_DIR) return { dir: env.SAASBASE_STATE_DIR };
  const runAs = serverUser();
  if (!runAs || serverCanReach(ROOT, runAs)) return { dir: STATE_DIR };
  const dir = join("/var/tmp", `saasbase-${basename(ROOT)}-${createHash("sha256").update(ROOT).digest("hex").slice(0, 8)}`);
  return {
    dir,
    note: `PostgreSQL runs as the ${runAs.name} account (it refuses root), which cannot enter ${resolve(ROOT)}: the ` +
      `database lives in ${dir} (SAASBASE_STATE_DIR chooses another folder).`,
  };
}
