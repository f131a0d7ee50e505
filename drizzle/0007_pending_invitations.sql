CREATE TABLE "pending_invitations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"batch_id" text NOT NULL,
	"dispatch_id" uuid NOT NULL,
	"invitation_count" integer NOT NULL,
	"invitations" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Stored uncompressed: a group lives seconds, and compressing megabytes cost ingest a quarter of its time.
ALTER TABLE "pending_invitations" ALTER COLUMN "invitations" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "pending_invitations" ADD CONSTRAINT "pending_invitations_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pending_invitations_dispatch_idx" ON "pending_invitations" USING btree ("dispatch_id","id");--> statement-breakpoint
CREATE INDEX "pending_invitations_batch_idx" ON "pending_invitations" USING btree ("account_id","batch_id");--> statement-breakpoint
-- Invitations accepted before this version and still waiting for tokens move into groups of 1,000.
INSERT INTO "pending_invitations" ("account_id", "batch_id", "dispatch_id", "invitation_count", "invitations", "created_at")
SELECT "account_id", "batch_id", "dispatch_id", count(*), json_agg(json_build_object(
         'id', "id", 'record_index', "record_index", 'uuid', "uuid", 'channel', "channel", 'target', "target",
         'language', "language", 'prefills', "prefills", 'sealed_originals', "sealed_originals",
         'sealed_key_id', "sealed_key_id") ORDER BY "record_index")::text, min("created_at")
FROM (SELECT *, (row_number() OVER (PARTITION BY "account_id", "batch_id", "dispatch_id" ORDER BY "record_index") - 1) / 1000 AS "part"
      FROM "invitations" WHERE "state" = 'requested') AS "waiting"
GROUP BY "account_id", "batch_id", "dispatch_id", "part"
ORDER BY min("created_at"), "account_id", "batch_id", "dispatch_id", "part";--> statement-breakpoint
DELETE FROM "invitations" WHERE "state" = 'requested';--> statement-breakpoint
-- Every invitation, with a token or still pending: what reports and the EventLog read.
CREATE VIEW "invitation_records" AS
SELECT "id", "account_id", "batch_id", "dispatch_id", "record_index", "state", "uuid", "channel", "target", "language",
       "prefills", "sealed_originals", "sealed_key_id", "token", "created_at", "updated_at"
FROM "invitations"
UNION ALL
SELECT x."id", p."account_id", p."batch_id", p."dispatch_id", x."record_index", 'requested', x."uuid", x."channel",
       x."target", x."language", x."prefills", x."sealed_originals", x."sealed_key_id", NULL, p."created_at", p."created_at"
FROM "pending_invitations" p
CROSS JOIN LATERAL json_to_recordset(p."invitations"::json) AS x("id" uuid, "record_index" integer, "uuid" text,
  "channel" text, "target" text, "language" text, "prefills" jsonb, "sealed_originals" text, "sealed_key_id" text);
