CREATE TABLE "event_outbox" (
	"event_id" bigint PRIMARY KEY NOT NULL
);
--> statement-breakpoint
INSERT INTO "event_outbox" ("event_id")
SELECT e."id" FROM "invitation_events" e
WHERE e."published_at" IS NULL
  AND e."account_id" IN (SELECT "account_id" FROM "webhook_subscriptions" WHERE "status" = 'active');--> statement-breakpoint
DROP INDEX "invitation_events_unpublished_idx";--> statement-breakpoint
ALTER TABLE "invitation_events" DROP COLUMN "published_at";--> statement-breakpoint
-- Once per INSERT statement, not per row: an account without an active subscription adds nothing.
CREATE FUNCTION "herald_queue_subscribed_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "event_outbox" ("event_id")
  SELECT n."id" FROM "new_events" n
  WHERE n."account_id" IN (SELECT "account_id" FROM "webhook_subscriptions" WHERE "status" = 'active');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "invitation_events_outbox" AFTER INSERT ON "invitation_events"
REFERENCING NEW TABLE AS "new_events" FOR EACH STATEMENT EXECUTE FUNCTION "herald_queue_subscribed_events"();
