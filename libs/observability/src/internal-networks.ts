import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ENV, Env, NetworkList, networkList } from '@hotline/config';

/**
 * Who is "internal" (INTERNAL_NETWORKS): only they read `/metrics` and `/health` details. Decided by
 * `req.ip`, which is the socket's remote address unless the connection comes from one of
 * TRUSTED_PROXIES, in which case it is the client address that proxy forwarded: so a request through
 * the reverse proxy counts as the internet client it is (not as the proxy's private address), and a
 * client's own `X-Forwarded-For` changes nothing.
 */
@Injectable()
export class InternalNetworks {
  private readonly networks: NetworkList;

  constructor(@Inject(ENV) env: Env) {
    this.networks = networkList(env.INTERNAL_NETWORKS);
  }

  /** Whether the request comes from an internal address. */
  admits(req: Request): boolean {
    return this.networks.includes(req.ip ?? req.socket?.remoteAddress);
  }
}
