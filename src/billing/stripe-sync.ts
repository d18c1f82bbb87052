// Makes Stripe hold the config's catalog (a product per paid plan and credit pack, prices by lookup key),
// then mirrors it into public.products / public.prices. Idempotent: products have ids of ours, prices are
// found by lookup key; a changed amount makes a new price that takes the lookup key over (Stripe prices
// are immutable) and retires the old one, which existing subscriptions keep; a price or product that left the
// config is retired (archived at Stripe) too. Only Stripe's rows (provider 'stripe'): Polar's are polar:sync's.
import type postgres from "postgres";
import type { CatalogProduct } from "../../supabase/functions/_shared/billing-catalog.ts";
import type { Stripe } from "../../supabase/functions/_shared/stripe-client.ts";

export interface SyncSummary {
  productsCreated: number;
  productsUpdated: number;
  pricesCreated: number;
  pricesRetired: number;
}

async function retrieveProduct(stripe: Stripe, id: string): Promise<Stripe.Product | undefined> {
  try {
    return await stripe.products.retrieve(id);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

export async function syncStripeCatalog(
  stripe: Stripe,
  sql: postgres.Sql,
  catalog: CatalogProduct[],
  currency: string,
): Promise<SyncSummary> {
  const summary: SyncSummary = { productsCreated: 0, productsUpdated: 0, pricesCreated: 0, pricesRetired: 0 };
  const rows: { product: CatalogProduct; prices: Stripe.Price[] }[] = [];

  for (const product of catalog) {
    const metadata = { saasbase_kind: product.kind, saasbase_ref: product.refId };
    const existing = await retrieveProduct(stripe, product.id);
    if (!existing) {
      await stripe.products.create({ id: product.id, name: product.name, description: product.description || undefined, metadata });
      summary.productsCreated++;
    } else if (existing.name !== product.name || !existing.active || (existing.description ?? "") !== product.description) {
      await stripe.products.update(product.id, { name: product.name, description: product.description || "", active: true, metadata });
      summary.productsUpdated++;
    }

    const current = await stripe.prices.list({ lookup_keys: product.prices.map((p) => p.lookupKey), active: true, limit: 100 });
    const prices: Stripe.Price[] = [];
    for (const want of product.prices) {
      const have = current.data.find((p) => p.lookup_key === want.lookupKey);
      const matches = have && have.unit_amount === want.unitAmount && have.currency === currency &&
        (have.recurring?.interval ?? null) === want.interval && have.product === product.id;
      if (matches) {
        prices.push(have);
        continue;
      }
      const created = await stripe.prices.create({
        product: product.id,
        currency,
        unit_amount: want.unitAmount,
        lookup_key: want.lookupKey,
        transfer_lookup_key: true,
        ...(want.interval ? { recurring: { interval: want.interval } } : {}),
      });
      summary.pricesCreated++;
      if (have) {
        await stripe.prices.update(have.id, { active: false });
        summary.pricesRetired++;
      }
      prices.push(created);
    }
    // A price the config no longer has (a plan without its yearly price now) is no longer for sale.
    const wanted = new Set(product.prices.map((p) => p.lookupKey));
    for (const stale of (await stripe.prices.list({ product: product.id, active: true, limit: 100 })).data) {
      if (!stale.lookup_key || !wanted.has(stale.lookup_key)) {
        await stripe.prices.update(stale.id, { active: false });
        summary.pricesRetired++;
      }
    }
    rows.push({ product, prices });
  }

  // Products that left the config (a plan or pack removed): archived at Stripe, so no portal or link sells
  // them; existing subscriptions keep their prices.
  const ids = new Set(catalog.map((p) => p.id));
  for (const { id } of await sql`select id from public.products where active and provider = 'stripe'`) {
    if (ids.has(id)) continue;
    const gone = await retrieveProduct(stripe, id);
    if (gone?.active) {
      await stripe.products.update(id, { active: false });
      summary.productsUpdated++;
    }
  }

  await sql.begin(async (tx) => {
    for (const { product, prices } of rows) {
      await tx`insert into public.products (id, kind, plan_id, pack_id, name, active, updated_at)
        values (${product.id}, ${product.kind}, ${product.kind === "plan" ? product.refId : null},
          ${product.kind === "credit_pack" ? product.refId : null}, ${product.name}, true, now())
        on conflict (id) do update set name = excluded.name, active = true, updated_at = now()`;
      await tx`update public.prices set active = false, updated_at = now()
        where product_id = ${product.id} and active and lookup_key <> all(${product.prices.map((p) => p.lookupKey)})`;
      for (const price of prices) {
        await tx`update public.prices set active = false, updated_at = now()
          where lookup_key = ${price.lookup_key!} and id <> ${price.id} and active and provider = 'stripe'`;
        await tx`insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval, active, updated_at)
          values (${price.id}, ${product.id}, ${price.lookup_key!}, ${price.unit_amount!}, ${price.currency},
            ${price.recurring?.interval ?? null}, true, now())
          on conflict (id) do update set unit_amount = excluded.unit_amount, active = true, updated_at = now()`;
      }
    }
    await tx`update public.products set active = false, updated_at = now()
      where active and provider = 'stripe' and id <> all(${[...ids]})`;
    await tx`update public.prices set active = false, updated_at = now()
      where active and provider = 'stripe' and product_id <> all(${[...ids]})`;
  });
  return summary;
}
