ALTER TABLE "pii_vault" DISABLE ROW LEVEL SECURITY;--> statement-breakpoint
DROP TABLE "pii_vault" CASCADE;--> statement-breakpoint
DROP INDEX "invitations_token_idx";--> statement-breakpoint
ALTER TABLE "invitations" ADD COLUMN "sealed_originals" text;--> statement-breakpoint
ALTER TABLE "invitations" ADD COLUMN "sealed_key_id" text;--> statement-breakpoint
CREATE UNIQUE INDEX "invitations_token_idx" ON "invitations" USING btree ("token") WHERE token IS NOT NULL;