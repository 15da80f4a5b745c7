import { INestApplication, RequestMethod } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { PUBLIC_KEY, ROLES_KEY } from '@hotline/auth';
import type { Role } from '@hotline/contract';

export interface RouteInfo {
  /** e.g. `GET /calls/:callId` */
  key: string;
  method: string;
  /** Express-style path, e.g. `/calls/:callId/notes` */
  path: string;
  controller: string;
  handler: string;
  public: boolean;
  roles: Role[] | undefined;
  /** Guards named on the controller or the handler (`@UseGuards`), by class name. */
  guards: string[];
}

const join = (...parts: string[]) =>
  '/' +
  parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/');

/**
 * Every HTTP route the app serves, read from Nest's own module container (the route table the
 * router is built from), with the access metadata the global AccessGuard reads.
 */
export function routeTable(app: INestApplication): RouteInfo[] {
  const scanner = new MetadataScanner();
  const routes: RouteInfo[] = [];
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const type = wrapper.metatype as (new (...a: unknown[]) => object) | undefined;
      if (!type) continue;
      const base: string[] = [].concat(Reflect.getMetadata(PATH_METADATA, type) ?? '/');
      const classGuards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, type) ?? [];
      for (const name of scanner.getAllMethodNames(type.prototype)) {
        const fn = (type.prototype as Record<string, unknown>)[name] as object;
        const paths: string[] | undefined = Reflect.getMetadata(PATH_METADATA, fn);
        if (paths === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod];
        const roles: Role[] | undefined = Reflect.getMetadata(ROLES_KEY, fn) ?? Reflect.getMetadata(ROLES_KEY, type);
        const isPublic = Boolean(Reflect.getMetadata(PUBLIC_KEY, fn) ?? Reflect.getMetadata(PUBLIC_KEY, type));
        const guards = [...classGuards, ...((Reflect.getMetadata(GUARDS_METADATA, fn) as unknown[]) ?? [])].map((g) =>
          typeof g === 'function' ? g.name : (g as object).constructor.name,
        );
        for (const b of base) {
          for (const p of [].concat(paths as never)) {
            const path = join(b, p);
            routes.push({ key: `${method} ${path}`, method, path, controller: type.name, handler: name, public: isPublic, roles, guards });
          }
        }
      }
    }
  }
  return routes.sort((a, b) => a.key.localeCompare(b.key));
}

/** `/calls/{callId}` (OpenAPI) → `/calls/:callId` (route table). */
export function fromOpenApiPath(p: string): string {
  return p.replace(/\{([^}]+)\}/g, ':$1');
}
