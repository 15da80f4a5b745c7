import { Body, Controller, Header, HttpCode, Logger, Post, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@hotline/auth';
import { WEBHOOK_BUDGET_MS, answerWithin } from '@hotline/twilio';
import { CallTwiml } from '../twiml/twiml';
import { TwilioParams } from '../webhooks/twilio-params';
import { ConferenceEvents } from './conference-events';
import { ConferenceTwiml } from './conference-twiml';
import { ConferenceLegFields, ConferenceRecordingFields, ConferenceStatusFields } from '../webhooks/twilio-fields';

/**
 * Twilio's conference webhooks: conference and participant status callbacks, a leg's call
 * progress, hold music. Signatures are checked by TwilioSignatureMiddleware (every /twilio/* path).
 * Each callback is answered within its time budget (WEBHOOK_BUDGET_MS) whatever Twilio's REST API
 * does: applying it (taking the caller off hold, removing a leg, ending the conference) goes on
 * after the answer when it takes longer; the answer is empty TwiML either way.
 */
@Public()
@ApiExcludeController()
@Controller('twilio/conference')
export class ConferenceController {
  private readonly logger = new Logger(ConferenceController.name);

  constructor(
    private readonly events: ConferenceEvents,
    private readonly twiml: ConferenceTwiml,
  ) {}

  @Post('status')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async status(@Query() query: TwilioParams, @Body() body: ConferenceStatusFields): Promise<string> {
    await this.applied('status', this.events.status(query, body ?? {}));
    return CallTwiml.empty();
  }

  @Post('leg')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async leg(@Query() query: TwilioParams, @Body() body: ConferenceLegFields): Promise<string> {
    await this.applied('leg', this.events.leg(query, body ?? {}));
    return CallTwiml.empty();
  }

  @Post('recording')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  async recording(@Query() query: TwilioParams, @Body() body: ConferenceRecordingFields): Promise<string> {
    await this.applied('recording', this.events.recording(query, body ?? {}));
    return CallTwiml.empty();
  }

  @Post('hold-music')
  @HttpCode(200)
  @Header('Content-Type', 'text/xml')
  holdMusic(): string {
    return this.twiml.holdMusic();
  }

  /** Waits for the callback to be applied, up to the budget; then answers while it goes on. */
  private applied(what: string, work: Promise<void>): Promise<void> {
    return answerWithin(
      work.catch((e) => this.failed(what, e)),
      WEBHOOK_BUDGET_MS,
      () => this.logger.warn(`conference ${what} callback answered before it was applied (over ${WEBHOOK_BUDGET_MS} ms); it goes on`),
    );
  }

  /**
   * A callback that could not be applied (Redis or MySQL away) is logged and answered 200: Twilio
   * does not retry status callbacks, and a 500 would only add noise at Twilio. The call itself goes on.
   */
  private failed(what: string, e: unknown): void {
    this.logger.warn(`conference ${what} callback not applied: ${(e as Error).message.slice(0, 120)}`);
  }
}
