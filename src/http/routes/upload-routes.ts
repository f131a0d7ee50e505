import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { AppError, notFound } from '../../errors.js';
import { acceptUpload, checkUploadDispatch, cleanFileName } from '../../initiator/accept-upload.js';
import { rejectedRowsReport } from '../../initiator/rejected-rows.js';
import { findUpload, listUploads, type UploadRecord } from '../../initiator/uploads.js';
import { isUuid } from '../../storage/ids.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';

const MiB = 1024 * 1024;

const UploadView = Type.Object({
  id: Type.String(),
  status: Type.Union([Type.Literal('processing'), Type.Literal('done'), Type.Literal('failed')]),
  fileName: Type.String(),
  dispatchId: Type.String(),
  format: Type.Union([Type.Literal('csv'), Type.Literal('xlsx'), Type.Null()], { description: 'null: neither' }),
  source: Type.String({ description: 'api (also herald send) or folder' }),
  feed: Type.Union([Type.String(), Type.Null()], { description: "the watched folder's feed" }),
  sizeBytes: Type.Number(),
  rows: Type.Object({
    read: Type.Integer(),
    accepted: Type.Integer(),
    rejected: Type.Integer(),
    throttled: Type.Integer(),
    suppressed: Type.Integer(),
  }),
  progress: Type.Number({ description: 'share of the file read into committed chunks, 0 to 1' }),
  batchIds: Type.Array(Type.String()),
  columns: Type.Union([Type.Array(Type.String()), Type.Null()]),
  warnings: Type.Array(Type.String()),
  errors: Type.Array(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});

function viewOf(u: UploadRecord) {
  // XLSX cannot tell how far into the file a row is: its progress moves at the end.
  const progress = u.status !== 'processing' ? 1 : u.sizeBytes > 0 ? Math.min(1, u.committedOffset / u.sizeBytes) : 0;
  return {
    id: u.id,
    status: u.status,
    fileName: u.fileName,
    dispatchId: u.dispatchId,
    format: u.format,
    source: u.source,
    feed: u.feed,
    sizeBytes: u.sizeBytes,
    rows: {
      read: u.rowsRead,
      accepted: u.accepted,
      rejected: u.rejected,
      throttled: u.throttled,
      suppressed: u.suppressed,
    },
    progress,
    batchIds: u.batchIds,
    columns: u.columns,
    warnings: u.warnings,
    errors: u.errors,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
    finishedAt: u.finishedAt?.toISOString() ?? null,
  };
}

function readMapping(text: string | undefined): Record<string, string> | null {
  if (text === undefined || text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const valid =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string');
  if (!valid) {
    throw new AppError(
      'VALIDATION_FAILED',
      'The mapping field must be a JSON object of header → question id or text, e.g. {"E-mail": "Email"}.',
      [{ field: 'mapping', problem: 'is not a JSON object of strings' }],
    );
  }
  return value as Record<string, string>;
}

const fileTooLarge = (maxBytes: number) =>
  new AppError(
    'PAYLOAD_TOO_LARGE',
    `The file is larger than ${Math.round(maxBytes / MiB)} MiB, the most Herald takes: split it into smaller files.`,
  );

interface Received {
  fields: Record<string, string>;
  fileName: string | undefined;
}

/** Streams the form's file to `into` (never held in memory) and collects its other fields. */
async function receiveForm(request: FastifyRequest, into: string, maxBytes: number): Promise<Received> {
  const fields: Record<string, string> = {};
  let fileName: string | undefined;
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      fields[part.fieldname] = String(part.value);
      continue;
    }
    if (part.fieldname !== 'file' || fileName !== undefined) {
      part.file.resume();
      throw new AppError('VALIDATION_FAILED', 'Send exactly one file, in the form field "file".');
    }
    fileName = cleanFileName(part.filename);
    const out = fs.createWriteStream(into, { flags: 'wx' });
    await pipeline(part.file, out);
    if (part.file.truncated) throw fileTooLarge(maxBytes);
  }
  return { fields, fileName };
}

/** Makes the file durable before the upload is acknowledged: a crash after 202 loses nothing. */
async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `/api/uploads`: customer files (CSV, XLSX) in, processed in the background, with their progress and rejected rows. */
export function uploadRoutes(app: HttpApp, ctx: HttpContext): void {
  const maxBytes = ctx.config.uploadMaxBytes;
  const uploadDir = ctx.config.uploadDir;
  // Multipart is parsed only here; any other body type reaches the handler unread, to be refused by it.
  const scoped = async (routes: HttpApp) => {
    await routes.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: MiB, parts: 12 },
    });
    routes.addContentTypeParser('*', (_request, _payload, done) => done(null));

    routes.post(
      '/api/uploads',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['uploads'],
          summary: 'Upload a CSV or XLSX file of records for a dispatch; processed in the background',
          description: `multipart/form-data with the fields dispatchId, file (at most ${Math.round(maxBytes / MiB)} MiB), and optionally mapping (JSON: header → question id or text) and sheet (XLSX: the sheet to read; the first when absent). Answers 202 with the upload; follow it with GET /api/uploads/{id}.`,
          response: { 202: UploadView },
        },
      },
      async (request, reply) => {
        const { accountId } = principalOf(request);
        if (!request.isMultipart()) {
          throw new AppError(
            'UNSUPPORTED_MEDIA_TYPE',
            'Send the file as multipart/form-data with the fields dispatchId and file (curl -F dispatchId=… -F file=@customers.csv).',
          );
        }
        // A body announced larger than the file may be, with room for the other fields, is refused unread.
        if (Number(request.headers['content-length']) > maxBytes + MiB) throw fileTooLarge(maxBytes);
        await fs.promises.mkdir(uploadDir, { recursive: true });
        const id = randomUUID();
        const partial = path.join(uploadDir, `${id}.part`);
        let stored: string | undefined;
        try {
          const { fields, fileName } = await receiveForm(request, partial, maxBytes);
          if (fileName === undefined) throw new AppError('VALIDATION_FAILED', 'Add the file in the form field "file".');
          const dispatchId = fields.dispatchId?.trim() ?? '';
          if (dispatchId === '') throw new AppError('VALIDATION_FAILED', 'Add the form field dispatchId.');
          const mapping = readMapping(fields.mapping);
          await checkUploadDispatch(ctx.platform, accountId, dispatchId);
          await syncFile(partial);
          stored = path.join(uploadDir, `${id}${path.extname(fileName).toLowerCase().slice(0, 10)}`);
          await fs.promises.rename(partial, stored);
          const upload = await acceptUpload(ctx, {
            id,
            accountId,
            dispatchId: dispatchId.toLowerCase(),
            fileName,
            storedPath: stored,
            source: 'api',
            sheet: fields.sheet?.trim() || null,
            mapping,
          });
          stored = undefined;
          return reply.status(202).header('location', `/api/uploads/${id}`).send(viewOf(upload));
        } finally {
          await fs.promises.rm(partial, { force: true });
          if (stored) await fs.promises.rm(stored, { force: true });
        }
      },
    );
  };
  void app.register(scoped);

  app.get(
    '/api/uploads',
    {
      schema: {
        tags: ['uploads'],
        summary: "The account's uploads, newest first",
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: { 200: Type.Array(UploadView) },
      },
    },
    async (request) =>
      (await listUploads(ctx.database.db, principalOf(request).accountId, request.query.limit)).map(viewOf),
  );

  const uploadOf = async (request: FastifyRequest, id: string) => {
    const upload = isUuid(id) ? await findUpload(ctx.database.db, principalOf(request).accountId, id) : null;
    if (!upload) throw notFound('Upload', id);
    return upload;
  };

  app.get(
    '/api/uploads/:id',
    {
      schema: {
        tags: ['uploads'],
        summary: "An upload's status, counts, progress, batches and errors",
        params: Type.Object({ id: Type.String() }),
        response: { 200: UploadView },
      },
    },
    async (request) => viewOf(await uploadOf(request, request.params.id)),
  );

  app.get(
    '/api/uploads/:id/rejected.csv',
    {
      // The rows hold personal data.
      config: { access: 'operator' },
      schema: {
        tags: ['uploads'],
        summary:
          'Every row of the upload that was not accepted, with its row number and reason (CSV; cells starting with = + - @ are prefixed with an apostrophe)',
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (request, reply) => {
      const upload = await uploadOf(request, request.params.id);
      const name = `${path.basename(upload.fileName, path.extname(upload.fileName))}.rejected.csv`.replace(/"/g, '');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${encodeURIComponent(name)}"`)
        .send(Readable.from(rejectedRowsReport(ctx.database.db, ctx.vault, upload)));
    },
  );
}
