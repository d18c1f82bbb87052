// Config section `notifications`: when the product tells a user something on its own (in-app and by mail), and
// where its links go. Synced into saasbase.notification_settings (service_role_sync_notifications), read by the
// notifications triggers.
import { z } from "zod";

/** A path of the product's web app ("/pricing"), joined to product.url in links. */
const appPath = z.string().regex(/^\/[^\s]*$/, "a path starting with /");

export const notificationsSchema = z.object({
  /** Mail a new user a welcome (with the sign-up credits). */
  welcomeEmail: z.boolean().default(true),
  /** An account whose balance falls below this many credits is told, at most once a day; 0 turns it off. */
  lowCreditsThreshold: z.number().int().nonnegative().max(2_147_483_647).default(20),
  /** Where the upgrade link of "free limit reached" goes (`?plan=<id>` is appended). */
  upgradePath: appPath.default("/pricing"),
  /** Where "credits running low" sends the reader to buy credits. */
  buyCreditsPath: appPath.default("/credits"),
});

export type NotificationsConfig = z.output<typeof notificationsSchema>;
