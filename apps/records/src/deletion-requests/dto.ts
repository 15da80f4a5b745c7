import { PageQuery } from '../common/page-query';
import { ApiProperty } from '@nestjs/swagger';
import { CursorPage, DELETION_REQUEST_STATUSES, DeletionRequestView } from '@hotline/contract';

export const DELETION_REQUEST_STATUS_VALUES: string[] = [...DELETION_REQUEST_STATUSES];

export class ListDeletionRequestsQuery extends PageQuery {}

/** The console reads it as libs/contract's DeletionRequestView. */
export class DeletionRequestDto implements DeletionRequestView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    description:
      "Who asked: while the request is pending or in progress, the short pseudonym operators see (never the number, never the full pseudonym); once it is carried out (`done`, `partly_held`), the request's own reference (`R-` and the first 8 characters of its id): the request then holds nothing that links it to a number. A cancelled request keeps the short pseudonym until the caller's records are deleted.",
    example: 'C-3FA2B1',
  })
  caller: string;
  @ApiProperty({ format: 'date-time' }) requestedAt: string;
  @ApiProperty({ description: 'How the caller proved the number was theirs.', example: 'sms_code' }) verifiedBy: string;
  @ApiProperty({
    enum: DELETION_REQUEST_STATUS_VALUES,
    description:
      '`pending`: waiting out the grace period, cancellable by the caller. `in_progress`: being carried out. `done`: every call deleted. `partly_held`: calls under legal hold were kept. `cancelled`: by the caller.',
  })
  status: string;
  @ApiProperty({ format: 'date-time', description: 'Not carried out before this (the grace period).' }) executeAfter: string;
  @ApiProperty({ description: 'Calls of this caller: at the request, then (once carried out) deleted plus held.' }) callsTotal: number;
  @ApiProperty({ description: 'Calls kept because a legal hold stands.' }) callsHeld: number;
  @ApiProperty({ description: 'Calls destroyed (each has a deletion certificate naming this request).' }) callsDeleted: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) completedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) cancelledAt: string | null;
  @ApiProperty({ description: 'A closing SMS is still to be sent (the number is kept sealed until then, and erased after).' })
  closingSmsPending: boolean;
}

export class DeletionRequestPageDto implements CursorPage<DeletionRequestView> {
  @ApiProperty({ type: [DeletionRequestDto] }) items: DeletionRequestDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next (older) page; null on the last page.' })
  nextCursor: string | null;
}
