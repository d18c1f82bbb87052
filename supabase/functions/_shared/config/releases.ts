// The `releases` section of the product config: the products distributed without a license, and the bounds of
// the releases function (docs/releases.md). Licensed products are the `licensing` section's; both become rows
// of public.release_products through the config sync (service_role_sync_releases).
import { z } from "zod";

/** A product id: what apps send as `product` and the first segment of a release file's Storage path. */
export const releaseProductId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "1 to 63 of a-z 0-9 _ -, starting with a letter or digit");

export const releasesSchema = z.object({
  /** Products anyone may download (a free tool, a trial build): no license is asked for. */
  freeProducts: z.array(z.object({ id: releaseProductId, name: z.string().min(1).max(200) })).default([]),
  /** Seconds a download's signed Storage URL stays valid: enough to start the download, short enough that a
   * shared link is soon dead. */
  downloadUrlSeconds: z.number().int().min(10).max(3600).default(300),
  /** The largest file an admin uploads through the function, in bytes (the function holds it in memory to
   * hash it before storing it). */
  maxArtifactBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(50 * 1024 * 1024),
});

export type ReleasesConfig = z.output<typeof releasesSchema>;

/** The section's references to the rest of the config: a free product is no licensed product too (the two lists
 * become one table of products), nor listed twice. */
export function checkReleases(
  releases: ReleasesConfig,
  licensedIds: string[],
  issue: (path: (string | number)[], message: string) => void,
) {
  const seen = new Set<string>();
  releases.freeProducts.forEach((p, i) => {
    if (seen.has(p.id)) issue(["releases", "freeProducts", i, "id"], `duplicate free product "${p.id}"`);
    if (licensedIds.includes(p.id)) {
      issue(["releases", "freeProducts", i, "id"], `"${p.id}" is a licensed product (licensing.products): not free too`);
    }
    seen.add(p.id);
  });
}
