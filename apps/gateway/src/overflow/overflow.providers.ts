import { Provider } from '@nestjs/common';
import type Redis from 'ioredis';
import { ENV, Env, ROUTING_CONFIG, RoutingConfig, WORDING, Wording } from '@hotline/config';
import { CallerLocations } from '@hotline/routing';
import { ROUTING_REDIS } from '../routing/routing.providers';
import { CallbackCapAlerts } from './callback-cap-alerts';
import { OverflowService } from './overflow.service';
import { OverflowTwiml } from './overflow.twiml';

export const overflowProviders: Provider[] = [
  {
    provide: OverflowTwiml,
    inject: [ENV, WORDING, ROUTING_CONFIG],
    useFactory: (env: Env, wording: Wording, cfg: RoutingConfig) => new OverflowTwiml(env.PUBLIC_URL, wording, cfg),
  },
  OverflowService,
  CallbackCapAlerts,
  { provide: CallerLocations, inject: [ROUTING_REDIS], useFactory: (redis: Redis) => new CallerLocations(redis) },
];
