-- Up Migration
-- The overdue-orders gauge (domain/fleet-gauges.ts) counts open orders at every scrape: only those are indexed.
CREATE INDEX orders_open_by_created ON orders (created_at) WHERE outcome IS NULL;

-- Down Migration
DROP INDEX orders_open_by_created;
