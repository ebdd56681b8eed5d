/** `value` as one shell word in single quotes. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface InstallCommandLines {
  /** Run as root. */
  install: string;
  /** Run by a user with sudo rights; the token still only in the environment. */
  sudo: string;
  uninstall: string;
}

/**
 * The one command that puts a host in the fleet: the hub's installer bootstrap piped into sh,
 * the enrollment token handed over in the environment (a shell assignment, never an argument:
 * the process list never shows it), the artifact version and sha256 pinned as the operator's
 * CLI got them from the hub.
 */
export function installCommandLines(o: { hubUrl: string; token: string; version: string; sha256: string }): InstallCommandLines {
  const hub = o.hubUrl.replace(/\/+$/, '');
  const fetchScript = `curl -fsSL ${shellQuote(`${hub}/v1/agent/install.sh`)}`;
  const token = `KEYFLEET_ENROLL_TOKEN=${shellQuote(o.token)}`;
  const args = `--hub ${shellQuote(hub)} --version ${shellQuote(o.version)} --sha256 ${o.sha256}`;
  return {
    install: `${fetchScript} | ${token} sh -s -- ${args}`,
    sudo: `${fetchScript} | ${token} sudo --preserve-env=KEYFLEET_ENROLL_TOKEN sh -s -- ${args}`,
    uninstall: `${fetchScript} | sh -s -- --uninstall`,
  };
}
