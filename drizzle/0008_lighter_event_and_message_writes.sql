ALTER TABLE "invitation_events" DROP CONSTRAINT "invitation_events_invitation_id_invitations_id_fk";
--> statement-breakpoint
DROP INDEX "messages_vendor_message_idx";--> statement-breakpoint
DROP INDEX "messages_bulk_batch_idx";--> statement-breakpoint
CREATE INDEX "messages_vendor_message_idx" ON "messages" USING btree ("vendor_id","vendor_message_id") WHERE vendor_message_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_bulk_batch_idx" ON "messages" USING btree ("bulk_batch_id") WHERE bulk_batch_id IS NOT NULL;--> statement-breakpoint
-- What the dropped foreign key's ON DELETE CASCADE did, once per DELETE statement.
CREATE FUNCTION "herald_delete_invitation_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "invitation_events" e USING "gone_invitations" g WHERE e."invitation_id" = g."id";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "invitations_delete_events" AFTER DELETE ON "invitations"
REFERENCING OLD TABLE AS "gone_invitations" FOR EACH STATEMENT EXECUTE FUNCTION "herald_delete_invitation_events"();
