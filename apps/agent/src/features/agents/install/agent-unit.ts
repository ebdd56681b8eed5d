export interface AgentUnitOptions {
  /** Absolute path of the node binary. */
  node: string;
  /** The artifact the unit runs (an upgrade swaps this file). */
  artifact: string;
  /** Its directory: writable for the agent, which upgrades itself. */
  libDir: string;
  envFile: string;
  /** Whether to put the agent in the docker group (systemd refuses to start a unit naming a missing group). */
  dockerGroup: boolean;
}

/** What `keyfleet-agent install` writes on a systemd host; deploy/systemd/keyfleet-agent.service is this with the defaults (a test keeps them equal). */
export const DEFAULT_UNIT_OPTIONS: AgentUnitOptions = {
  node: '/usr/bin/node',
  artifact: '/opt/keyfleet/agent/keyfleet-agent.mjs',
  libDir: '/opt/keyfleet/agent',
  envFile: '/etc/keyfleet/agent.env',
  dockerGroup: true,
};

/** keyfleet-agent.service for these paths. */
export function agentUnit(o: AgentUnitOptions): string {
  return `# Keyfleet agent: runs on every Keycloak host, keeps one NATS connection to the hub and
# executes its tasks.
# Installed by the one command \`keyfleet tokens create --install\` prints (keyfleet-agent install),
# which writes this file with the host's paths. By hand: the artifact (\`pnpm build\` writes it to
# apps/agent/dist/artifacts; the hub serves it at GET /v1/agent/artifact/file) as
# ${o.artifact}, owned by keyfleet-agent; keyfleet.sysusers.conf in
# /etc/sysusers.d/ (then \`systemd-sysusers\`); this file in /etc/systemd/system/; settings in
# ${o.envFile} (see agent.env.example).
# Enroll once before the first start (the token comes from the hub; see agent.env.example).
#
# The agent runs as its own user${o.dockerGroup ? ' in the docker group (Docker runtime of Keycloak)' : ''}. Tasks
# that change the host itself (hardening, a systemd-managed Keycloak, writing Keycloak's
# TLS material) need more: grant exactly that in a drop-in (\`systemctl edit
# keyfleet-agent\`), e.g. ReadWritePaths=/opt/keycloak /etc/keycloak.
# Keycloak must not go down with the agent: the front of a docker-runtime Keycloak (the process
# serving its public ports) and a process-runtime Keycloak supervised as a child both live in
# this unit's cgroup, so KillMode=process below lets them outlive agent restarts and upgrades.
# Stop Keycloak with \`keyfleet keycloak stop\`, not by stopping the agent. For a process-runtime
# Keycloak, KEYFLEET_KEYCLOAK_SUPERVISOR=systemd (its own unit; needs User=root in a drop-in) is
# the cleaner choice on real hosts.
# Upgrades (\`keyfleet agents upgrade\`): the agent swaps
# ${o.artifact} (its directory is the only place it may write besides its
# state) and exits; systemd starts the new one. A watchdog left from the
# old artifact (KillMode=process keeps it) swaps the old one back if the new one does not report
# to the hub in time; StartLimitIntervalSec=0 keeps a crash-looping new agent being restarted, so
# the swap takes effect without root.
[Unit]
Description=Keyfleet agent
Wants=network-online.target
After=network-online.target docker.service
StartLimitIntervalSec=0

[Service]
Type=simple
Environment=KEYFLEET_AGENT_STATE_DIR=%S/keyfleet-agent
Environment=KEYFLEET_AGENT_SUPERVISOR=systemd
EnvironmentFile=${o.envFile}
# Two malloc arenas instead of 8 per core: ~2.5 MB less idle RSS; the agent has few threads.
Environment=MALLOC_ARENA_MAX=2
# A fixed mmap threshold: glibc otherwise raises it after the first large free, so later large
# buffers (reading and compiling code at start) land in the heap and stay resident after use;
# ~8 MB less idle private memory (docs/benchmarks.md).
Environment=MALLOC_MMAP_THRESHOLD_=131072
# A 1 MiB young generation keeps the idle agent ~15 MB smaller at no measurable CPU cost;
# --optimize-for-size ~4 MB less private memory for ~8 % of backup encryption throughput
# (docs/benchmarks.md).
ExecStart=${o.node} --max-semi-space-size=1 --optimize-for-size ${o.artifact} run --state-dir \${KEYFLEET_AGENT_STATE_DIR}
Restart=always
RestartSec=2
# Lets a running task finish writing its result to the journal.
TimeoutStopSec=60
KillSignal=SIGTERM
KillMode=process

User=keyfleet-agent
Group=keyfleet-agent
${o.dockerGroup ? 'SupplementaryGroups=docker\n' : ''}StateDirectory=keyfleet-agent
StateDirectoryMode=0700
ReadWritePaths=${o.libDir}
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
# MemoryDenyWriteExecute stays off: V8's JIT needs writable+executable memory.

[Install]
WantedBy=multi-user.target
`;
}
