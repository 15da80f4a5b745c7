import { ArgumentMetadata, BadRequestException, Param, ParseUUIDPipe } from '@nestjs/common';

/**
 * A UUID in its one canonical form (lower case). MySQL's collation matches ids whatever their
 * case, so without this an id in capitals would reach the rows, the audit trail and the alerts
 * as a second spelling of the same call.
 */
export class CanonicalUuidPipe extends ParseUUIDPipe {
  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    return (await super.transform(value, metadata)).toLowerCase();
  }
}

/** A path parameter that must be a UUID; otherwise 400 naming it (before anything is looked up). Lower-cased. */
export const UuidParam = (name: string) =>
  Param(
    name,
    new CanonicalUuidPipe({ exceptionFactory: () => new BadRequestException({ message: `${name} must be a UUID`, fields: [name] }) }),
  );
