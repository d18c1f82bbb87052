// Makes Polar sell the config's catalog (polarCatalog: plans when Polar sells them, packs and the deposit product
// when it sells credits), then mirrors it into public.products / public.prices as provider 'polar'. Idempotent:
// products are found by their `saasbase_lookup_key` metadata; a changed amount (or deposit bounds) replaces the
// product's price (Polar archives the price an update leaves out; subscriptions keep theirs), a changed name or
// description is updated, and a product that left the config is archived at Polar and retired here. Stripe's rows
// are stripe:sync's and stay as they are.
import type postgres from "postgres";
import type { Polar } from "../../supabase/functions/_shared/billing/polar/client.ts";
import type { PolarCatalogProduct } from "../../supabase/functions/_shared/billing/polar/catalog.ts";

export interface PolarSyncSummary {
  productsCreated: number;
  productsUpdated: number;
  productsArchived: number;
}

type Product = Awaited<ReturnType<Polar["products"]["create"]>>;
type Price = Product["prices"][number];

const LOOKUP_KEY = "saasbase_lookup_key";

/** The product's price for sale (not archived, fixed or custom). */
function salePrice(product: Product): Price | undefined {
  return product.prices.find((p) => !p.is_archived && (p.amount_type === "fixed" || p.amount_type === "custom"));
}

function priceMatches(price: Price | undefined, want: PolarCatalogProduct, currency: string): boolean {
  if (!price || price.price_currency !== currency) return false;
  if ("fixed" in want.price) return price.amount_type === "fixed" && price.price_amount === want.price.fixed;
  return price.amount_type === "custom" && price.minimum_amount === want.price.min &&
    price.maximum_amount === want.price.max;
}

function priceCreate(want: PolarCatalogProduct, currency: string) {
  return "fixed" in want.price
    ? { amount_type: "fixed" as const, price_amount: want.price.fixed, price_currency: currency as "usd" }
    : {
      amount_type: "custom" as const,
      minimum_amount: want.price.min,
      maximum_amount: want.price.max,
      price_currency: currency as "usd",
    };
}

export async function syncPolarCatalog(
  polar: Polar,
  sql: postgres.Sql,
  catalog: PolarCatalogProduct[],
  currency: string,
): Promise<PolarSyncSummary> {
  const summary: PolarSyncSummary = { productsCreated: 0, productsUpdated: 0, productsArchived: 0 };
  // Ours, archived ones included (a product back in the config is unarchived, not made twice).
  const ours = new Map<string, Product>();
  for (let page = 1;; page++) {
    const list = await polar.products.list({ page, limit: 100 });
    for (const p of list.items) {
      const key = p.metadata?.[LOOKUP_KEY];
      if (typeof key === "string" && !ours.has(key)) ours.set(key, p);
    }
    if (page >= list.pagination.max_page) break;
  }

  const rows: { want: PolarCatalogProduct; product: Product; price: Price }[] = [];
  for (const want of catalog) {
    const metadata = { [LOOKUP_KEY]: want.lookupKey, saasbase_kind: want.kind, saasbase_ref: want.refId ?? "" };
    let product = ours.get(want.lookupKey);
    if (!product) {
      product = await polar.products.create({
        name: want.name,
        description: want.description || null,
        prices: [priceCreate(want, currency)],
        metadata,
        ...(want.interval ? { recurring_interval: want.interval } : {}),
      });
      summary.productsCreated++;
    } else if (
      product.is_archived || product.name !== want.name || (product.description ?? "") !== want.description ||
      !priceMatches(salePrice(product), want, currency)
    ) {
      const price = salePrice(product);
      product = await polar.products.update(product.id, {
        name: want.name,
        description: want.description || null,
        is_archived: false,
        metadata,
        prices: [priceMatches(price, want, currency) ? { id: price!.id } : priceCreate(want, currency)],
      });
      summary.productsUpdated++;
    }
    rows.push({ want, product, price: salePrice(product)! });
  }

  const wanted = new Set(catalog.map((p) => p.lookupKey));
  for (const [key, product] of ours) {
    if (wanted.has(key) || product.is_archived) continue;
    await polar.products.update(product.id, { is_archived: true });
    summary.productsArchived++;
  }

  const ids = rows.map((r) => r.product.id);
  await sql.begin(async (tx) => {
    for (const { want, product, price } of rows) {
      await tx`insert into public.products (id, kind, plan_id, pack_id, name, active, provider, updated_at)
        values (${product.id}, ${want.kind}, ${want.kind === "plan" ? want.refId : null},
          ${want.kind === "credit_pack" ? want.refId : null}, ${want.name}, true, 'polar', now())
        on conflict (id) do update set name = excluded.name, active = true, updated_at = now()`;
      // The lookup key moves to the product's current price; the ones before it stay for their subscriptions.
      await tx`update public.prices set active = false, updated_at = now()
        where provider = 'polar' and active and (lookup_key = ${want.lookupKey} or product_id = ${product.id})
          and id <> ${price.id}`;
      const amount = price.amount_type === "fixed" ? price.price_amount : price.amount_type === "custom" ? price.minimum_amount : 0;
      await tx`insert into public.prices (id, product_id, lookup_key, unit_amount, currency, billing_interval, active,
          provider, updated_at)
        values (${price.id}, ${product.id}, ${want.lookupKey}, ${amount}, ${price.price_currency}, ${want.interval},
          true, 'polar', now())
        on conflict (id) do update set unit_amount = excluded.unit_amount, active = true, updated_at = now()`;
    }
    await tx`update public.products set active = false, updated_at = now()
      where provider = 'polar' and active and id <> all(${ids})`;
    await tx`update public.prices set active = false, updated_at = now()
      where provider = 'polar' and active and product_id <> all(${ids})`;
  });
  return summary;
}
