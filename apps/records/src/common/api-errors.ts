import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

/** The one shape of every error (GlobalExceptionFilter). */
export class ErrorBody {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ example: 'Bad Request' }) error: string;
  @ApiProperty({ example: 'text must be at most 16384 bytes' }) message: string;
  @ApiPropertyOptional({
    type: [String],
    description: 'The fields at fault (request body fields, `body` for an unreadable body, a header or path parameter name).',
    example: ['text'],
  })
  fields?: string[];
  @ApiProperty({
    description: 'Quote it when reporting a problem; it is also the X-Request-Id response header.',
    example: '3f0c1b9e-0a51-4a63-8f0e-2d8b3b6b7c11',
  })
  correlationId: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: unknown field, wrong type, malformed JSON or an id that is not a UUID. Nothing was written.',
  401: 'No valid access token (or, for sign-in, wrong username or password).',
  403: 'Your role may not do this.',
  404: 'No such call (or not one you may see: existence is not revealed).',
  409: 'Conflicts with the current state.',
  410: 'The call was destroyed; the body carries its deletion certificate.',
  413: 'Body larger than allowed.',
  423: 'Locked for a while after repeated failures (Retry-After).',
  429: 'Too many attempts: wait Retry-After seconds.',
};

/** Documents the error answers of a route (all in the ErrorBody shape), with overrides. */
export function ApiErrors(statuses: number[], overrides: Record<number, string> = {}) {
  return applyDecorators(
    ...statuses.map((status) => ApiResponse({ status, description: overrides[status] ?? DESCRIPTIONS[status], type: ErrorBody })),
  );
}
