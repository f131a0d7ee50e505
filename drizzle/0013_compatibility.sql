ALTER TABLE "accounts" ADD COLUMN "normalized_hashing" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "invitation_events" ADD COLUMN "log_message" text;--> statement-breakpoint
ALTER TABLE "log_entries" ADD COLUMN "tag" text DEFAULT 'DispatchAPI' NOT NULL;--> statement-breakpoint
ALTER TABLE "log_entries" ADD COLUMN "exception" text;--> statement-breakpoint
UPDATE "log_entries" SET "tag" = 'Initiator' WHERE "upload_id" IS NOT NULL;