CREATE TABLE "bulk_batches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"account_id" uuid NOT NULL,
	"vendor_id" uuid NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"message_count" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"claimed_at" timestamp with time zone,
	"flushed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vendor_callbacks" (
	"vendor_id" uuid NOT NULL,
	"external_event_id" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vendor_callbacks_vendor_id_external_event_id_pk" PRIMARY KEY("vendor_id","external_event_id")
);
--> statement-breakpoint
ALTER TABLE "delivery_policies" ADD COLUMN "channel_fallback" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "status_updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "automated" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "retry_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "previous_status" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "previous_status_updated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "previous_error_category" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "previous_error_code" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "previous_error_message" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "bulk_batch_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "read_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "bulk_batches_status_idx" ON "bulk_batches" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "messages_vendor_message_idx" ON "messages" USING btree ("vendor_id","vendor_message_id");--> statement-breakpoint
CREATE INDEX "messages_bulk_batch_idx" ON "messages" USING btree ("bulk_batch_id");