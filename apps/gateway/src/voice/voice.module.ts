import { Module } from '@nestjs/common';
import { TokenModule } from '@hotline/auth';
import { VoiceTokenController } from './voice-token.controller';

/** The Voice SDK access token a console's browser device registers with (`GET /voice/token`). */
@Module({ imports: [TokenModule], controllers: [VoiceTokenController] })
export class VoiceModule {}
