import { INestApplication } from '@nestjs/common';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { GATEWAY_METADATA, GATEWAY_OPTIONS, MESSAGE_MAPPING_METADATA, MESSAGE_METADATA } from '@nestjs/websockets/constants';

export interface SocketNamespaceInfo {
  /** e.g. `/operator` */
  namespace: string;
  /** The `@WebSocketGateway` class. */
  gateway: string;
  /** The client events it handles (`@SubscribeMessage`), sorted. */
  events: string[];
}

/**
 * Every socket.io namespace the app serves and the events each handles, read from the metadata
 * Nest builds its gateways from (`@WebSocketGateway({ namespace })`, `@SubscribeMessage(event)`):
 * a namespace or an event added to the code appears here without anyone listing it.
 */
export function socketTable(app: INestApplication): SocketNamespaceInfo[] {
  const scanner = new MetadataScanner();
  const seen = new Set<unknown>();
  const table: SocketNamespaceInfo[] = [];
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.providers.values()) {
      const type = wrapper.metatype as (new (...a: unknown[]) => object) | undefined;
      if (typeof type !== 'function' || seen.has(type) || !Reflect.getMetadata(GATEWAY_METADATA, type)) continue;
      seen.add(type);
      const options: { namespace?: unknown } = Reflect.getMetadata(GATEWAY_OPTIONS, type) ?? {};
      if (options.namespace !== undefined && typeof options.namespace !== 'string')
        throw new Error(`${type.name}: a namespace that is not a plain string cannot be tested by name`);
      const events = scanner
        .getAllMethodNames(type.prototype)
        .map((name) => (type.prototype as Record<string, unknown>)[name] as object)
        .filter((fn) => Reflect.getMetadata(MESSAGE_MAPPING_METADATA, fn))
        .map((fn) => String(Reflect.getMetadata(MESSAGE_METADATA, fn)))
        .sort();
      table.push({ namespace: (options.namespace as string | undefined) ?? '/', gateway: type.name, events });
    }
  }
  return table.sort((a, b) => a.namespace.localeCompare(b.namespace));
}
