import { PageQuery } from '../common/page-query';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  ValidateBy,
  ValidationOptions,
} from 'class-validator';
import { CALL_STATUSES, DISCLOSABLE_FIELDS, DisclosableField, RISK_LEVELS, RiskLevel } from '@hotline/contract';
import { POLICY_NAMES } from '@hotline/config';

export const MAX_NOTE_BYTES = 16 * 1024;

/** Byte length (UTF-8), not characters: the cap is on what is stored. */
function MaxBytes(max: number, options?: ValidationOptions) {
  return ValidateBy(
    { name: 'maxBytes', validator: { validate: (v) => typeof v === 'string' && Buffer.byteLength(v, 'utf8') <= max } },
    options,
  );
}

const NOT_BLANK = /\S/;

// ---- requests

export class ListCallsQuery extends PageQuery {}

export class AddNoteDto {
  @ApiProperty({
    description: `The note (1 to ${MAX_NOTE_BYTES} bytes of UTF-8). Stored encrypted; notes are append-only.`,
    maxLength: MAX_NOTE_BYTES,
  })
  @IsString()
  @Matches(NOT_BLANK, { message: 'text must not be empty' })
  @MaxBytes(MAX_NOTE_BYTES, { message: `text must be at most ${MAX_NOTE_BYTES} bytes (16 KB)` })
  text: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'The note of the same call that this one corrects (an amendment; the original is kept).',
  })
  @IsOptional()
  @IsUUID('all', { message: 'amendsNoteId must be a UUID' })
  @Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value))
  amendsNoteId?: string;
}

export class AssessmentDto {
  @ApiProperty({ enum: RISK_LEVELS })
  @IsIn(RISK_LEVELS as unknown as string[], { message: `riskLevel must be one of ${RISK_LEVELS.join(', ')}` })
  riskLevel: RiskLevel;
}

export class EscalationDto {
  @ApiProperty({
    description: 'Who was told (e.g. the service and the person spoken to).',
    maxLength: 200,
    example: 'Ambulance service, control room',
  })
  @IsString()
  @Length(1, 200)
  @Matches(NOT_BLANK, { message: 'disclosedTo must not be blank' })
  disclosedTo: string;

  @ApiProperty({ description: 'The legal basis of the disclosure.', maxLength: 500, example: 'Vital interests: risk to the caller’s life' })
  @IsString()
  @Length(1, 500)
  @Matches(NOT_BLANK, { message: 'legalBasis must not be blank' })
  legalBasis: string;

  @ApiProperty({ description: 'Only what was actually shared (minimum disclosure).', enum: DISCLOSABLE_FIELDS, isArray: true, minItems: 1 })
  @IsArray()
  @ArrayMinSize(1, { message: 'fieldsDisclosed must list at least one field' })
  @ArrayMaxSize(DISCLOSABLE_FIELDS.length)
  @ArrayUnique()
  @IsIn(DISCLOSABLE_FIELDS as unknown as string[], {
    each: true,
    message: `fieldsDisclosed may contain only ${DISCLOSABLE_FIELDS.join(', ')}`,
  })
  fieldsDisclosed: DisclosableField[];

  @ApiPropertyOptional({ format: 'date-time', description: 'When emergency services confirmed contact.' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'emergencyContactConfirmedAt must be an ISO 8601 date-time' })
  emergencyContactConfirmedAt?: string;

  @ApiPropertyOptional({ maxLength: 4000 })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  notes?: string;
}

export class LegalHoldDto {
  @ApiProperty({ maxLength: 500, example: 'Preservation order, case 2025/114' })
  @IsString()
  @Length(1, 500)
  @Matches(NOT_BLANK, { message: 'reason must not be blank' })
  reason: string;
}

// ---- responses (documentation of what the service returns)

export class CallSummaryDto {
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ enum: CALL_STATUSES }) status: string;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) answeredAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) endedAt: string | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Seconds waited before answer (or before hanging up unanswered)' })
  waitSeconds: number | null;
  @ApiProperty({ enum: RISK_LEVELS }) riskLevel: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) operatorId: string | null;
  @ApiProperty({ enum: POLICY_NAMES }) retentionPolicy: string;
  @ApiProperty({ format: 'date-time' }) retentionDeadline: string;
  @ApiProperty() recordingConsent: boolean;
  @ApiProperty({ type: String, nullable: true }) wrapupCategory: string | null;
}

export class CallPageDto {
  @ApiProperty({ type: [CallSummaryDto] }) items: CallSummaryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next (older) page; null on the last page.' })
  nextCursor: string | null;
}

export class NoteDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'null when the content cannot be decrypted (destroyed key, or a ciphertext that is not this note’s); then `unavailable` is true.',
  })
  text: string | null;
  @ApiPropertyOptional() unavailable?: boolean;
  @ApiProperty({ format: 'uuid' }) authorId: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) amendsNoteId: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class AssessmentEntryDto {
  @ApiProperty({ enum: RISK_LEVELS }) riskLevel: string;
  @ApiProperty({ format: 'uuid' }) assessedBy: string;
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class AssessmentViewDto {
  @ApiProperty({ enum: RISK_LEVELS }) riskLevel: string;
  @ApiProperty({ type: [AssessmentEntryDto] }) history: AssessmentEntryDto[];
}

export class EscalationMetaDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) operatorId: string;
  @ApiProperty({ enum: RISK_LEVELS }) riskLevel: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) cosignedBy: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) cosignedAt: string | null;
}

export class EscalationViewDto extends EscalationMetaDto {
  @ApiProperty({ type: String, nullable: true }) disclosedTo: string | null;
  @ApiProperty({ type: String, nullable: true }) legalBasis: string | null;
  @ApiProperty({ enum: DISCLOSABLE_FIELDS, isArray: true, nullable: true }) fieldsDisclosed: string[] | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) emergencyContactConfirmedAt: string | null;
  @ApiProperty({ type: String, nullable: true }) notes: string | null;
  @ApiPropertyOptional() unavailable?: boolean;
}

export class LegalHoldStateDto {
  @ApiProperty({ format: 'date-time' }) placedAt: string;
}

export class CallDetailDto extends CallSummaryDto {
  @ApiProperty({ type: [NoteDto] }) notes: NoteDto[];
  @ApiProperty({ type: AssessmentViewDto }) assessment: AssessmentViewDto;
  @ApiProperty({ type: [EscalationViewDto] }) escalations: EscalationViewDto[];
  @ApiProperty({ type: LegalHoldStateDto, nullable: true }) legalHold: LegalHoldStateDto | null;
}

export class CertificateStepDto {
  @ApiProperty() step: string;
  @ApiProperty({ enum: ['done', 'already_done', 'skipped', 'failed'] }) outcome: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiPropertyOptional() detail?: string;
}

export class CertificateDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ example: 'retention' }) reason: string;
  @ApiProperty({ enum: POLICY_NAMES }) retentionPolicy: string;
  @ApiProperty({ format: 'date-time' }) retentionDeadline: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) deletionRequestId: string | null;
  @ApiProperty({ format: 'date-time' }) destroyedAt: string;
  @ApiProperty({ type: [CertificateStepDto] }) steps: CertificateStepDto[];
}

export class GoneDto {
  @ApiProperty({ example: 410 }) statusCode: number;
  @ApiProperty({ example: 'Gone' }) error: string;
  @ApiProperty() message: string;
  @ApiProperty({
    type: CertificateDto,
    nullable: true,
    description: 'null while an interrupted deletion awaits its finish (the key is gone, the rows not yet)',
  })
  certificate: CertificateDto | null;
  @ApiProperty() correlationId: string;
}

export class CreatedDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class AssessmentResultDto {
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ enum: RISK_LEVELS }) riskLevel: string;
  @ApiProperty({ enum: POLICY_NAMES, description: 'By the highest risk ever assessed on the call' }) retentionPolicy: string;
  @ApiProperty({ format: 'date-time', description: 'Never brought forward by a lower assessment' }) retentionDeadline: string;
}

export class CosignResultDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) cosignedBy: string;
  @ApiProperty({ format: 'date-time' }) cosignedAt: string;
}

export class LegalHoldResultDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ format: 'date-time' }) placedAt: string;
}
