import { Type } from '@sinclair/typebox';
import { recordSurveyResponse } from '../../pipeline/feedback/survey-response.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Timestamp } from '../schemas.js';

/** `POST /api/responses`: the survey side reports that an invitation's survey was answered or completed. */
export function responseRoutes(app: HttpApp, ctx: HttpContext): void {
  app.post(
    '/api/responses',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['responses'],
        summary: 'Record that a survey was answered (and completed): stops its reminders',
        description:
          'Answered and Completed are each recorded once, however often they are reported. `answers` is accepted for compatibility and not stored.',
        body: Type.Object(
          {
            token: Type.String({ minLength: 1, maxLength: 200, description: "The invitation's survey token" }),
            answers: Type.Optional(
              Type.Object(
                {},
                { additionalProperties: true, maxProperties: 100, description: 'Ignored; at most 100 keys' },
              ),
            ),
            completed: Type.Boolean(),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            token: Type.String(),
            answeredAt: Timestamp,
            completedAt: Type.Union([Timestamp, Type.Null()]),
            cancelledReminders: Type.Integer({ description: 'Reminders that were scheduled and are now cancelled' }),
          }),
        },
      },
    },
    async (request) => {
      const { token, completed } = request.body;
      return recordSurveyResponse(ctx.database, principalOf(request).accountId, { token, completed });
    },
  );
}
