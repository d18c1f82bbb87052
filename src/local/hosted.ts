// The clusters the local stack owns (npm run dev's, the tests') run with hosted Supabase's privileges: the
// platform bootstrap as it is done there, then `postgres` demoted to what a hosted project's `postgres` may
// do (src/local/hosted-privileges.sql), so that a migration needing more fails here before it fails on
// `supabase db push` to a hosted project. A database of one's own (SUPABASE_DB_URL) is left as it is.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bootstrapPlatform, connect } from "./database.ts";
import { ROOT } from "./paths.ts";
import type { LocalCluster } from "./postgres.ts";

/** Bootstraps the platform (when the cluster has none yet: `postgres` is still a superuser then, as in
 * Supabase's image while its init scripts run), then applies hosted's privileges as supabase_admin. Run on
 * every start: it is idempotent, and brings a cluster made by an earlier version to the same privileges. */
export async function prepareHostedCluster(cluster: LocalCluster): Promise<void> {
  const admin = connect(cluster.adminUrl);
  try {
    const [{ superuser }] = await admin`select rolsuper as superuser from pg_roles where rolname = 'postgres'`;
    // A fresh cluster is bootstrapped as `postgres` while it is still a superuser, as in Supabase's image; one
    // demoted before may still lack a part added since (Storage's schema), which its superuser adds.
    await bootstrapPlatform(superuser ? cluster.url : cluster.adminUrl);
    await admin.unsafe(readFileSync(join(ROOT, "src/local/hosted-privileges.sql"), "utf8"));
  } finally {
    await admin.end();
  }
}
