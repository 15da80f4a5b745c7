import { BadRequestException, Param, ParseUUIDPipe } from '@nestjs/common';

/** A path parameter that must be a UUID; otherwise 400 naming it (before anything is looked up). */
export const UuidParam = (name: string) =>
  Param(name, new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException({ message: `${name} must be a UUID`, fields: [name] }) }));
