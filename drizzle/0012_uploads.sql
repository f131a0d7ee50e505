CREATE TABLE "upload_rejections" (
	"upload_id" uuid NOT NULL,
	"row_number" integer NOT NULL,
	"reason" text NOT NULL,
	"sealed_cells" text NOT NULL,
	"sealed_key_id" text NOT NULL,
	CONSTRAINT "upload_rejections_upload_id_row_number_pk" PRIMARY KEY("upload_id","row_number")
);
--> statement-breakpoint
CREATE TABLE "uploads" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"dispatch_id" uuid NOT NULL,
	"file_name" text NOT NULL,
	"format" text,
	"sheet" text,
	"mapping" jsonb,
	"source" text NOT NULL,
	"feed" text,
	"stored_path" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"status" text DEFAULT 'processing' NOT NULL,
	"columns" jsonb,
	"rows_read" integer DEFAULT 0 NOT NULL,
	"accepted" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"throttled" integer DEFAULT 0 NOT NULL,
	"suppressed" integer DEFAULT 0 NOT NULL,
	"committed_row" integer DEFAULT 0 NOT NULL,
	"committed_offset" bigint DEFAULT 0 NOT NULL,
	"batch_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"warnings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"archived_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "log_entries" ADD COLUMN "upload_id" uuid;--> statement-breakpoint
ALTER TABLE "upload_rejections" ADD CONSTRAINT "upload_rejections_upload_id_uploads_id_fk" FOREIGN KEY ("upload_id") REFERENCES "public"."uploads"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "uploads_account_idx" ON "uploads" USING btree ("account_id","created_at");--> statement-breakpoint
CREATE INDEX "uploads_processing_idx" ON "uploads" USING btree ("status") WHERE status = 'processing';--> statement-breakpoint
CREATE INDEX "log_entries_upload_idx" ON "log_entries" USING btree ("upload_id") WHERE upload_id IS NOT NULL;