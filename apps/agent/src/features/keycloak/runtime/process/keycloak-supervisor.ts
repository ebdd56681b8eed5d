/** What a process-runtime Keycloak needs to run: a built dist, the JDK and its KC_* environment. */
export interface SupervisedLaunch {
  installDir: string;
  javaHome: string;
  /** KC_* options and secrets; written only to 0600 files, never to argv. */
  env: Record<string, string>;
}

export interface SupervisedStatus {
  running: boolean;
  pid?: number;
  startedAt?: Date;
}

/** Keeps one Keycloak process running: a detached child with a pid file (dev/tests) or a systemd unit (hosts). */
export interface KeycloakSupervisor {
  readonly kind: 'child' | 'systemd';
  start(launch: SupervisedLaunch): Promise<void>;
  /** Resolves once the process is gone; true when it was running. */
  stop(): Promise<boolean>;
  status(): Promise<SupervisedStatus>;
  logs(lines: number): Promise<string>;
  /** Stops Keycloak and deletes what the supervisor wrote (pid file and log, or the unit). */
  remove(): Promise<void>;
}
