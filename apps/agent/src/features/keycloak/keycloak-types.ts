import type { z } from 'zod';
import type { keycloakConfig, taskDefinitions } from '@keyfleet/proto/v1';

/** The desired Keycloak as `keycloak.install` / `keycloak.update` receive it (secrets carry their `value`). */
export type KeycloakConfig = z.output<typeof keycloakConfig>;
export type VerifyLogin = NonNullable<z.output<(typeof taskDefinitions)['keycloak.verify']['input']>['login']>;
export type VerifyReport = z.output<(typeof taskDefinitions)['keycloak.verify']['output']>;
export type VerifyCheck = VerifyReport['checks'][number];
export type KeycloakInstanceView = z.input<(typeof taskDefinitions)['keycloak.start']['output']>['instance'];
export type TimelineEntry = z.input<(typeof taskDefinitions)['keycloak.update']['output']>['timeline'][number];
