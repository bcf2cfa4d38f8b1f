"""Every Compose key a store template may use, and every one it may not, with the reason.

The policy (policy.py) judges the canonical form `docker compose config` gives of a rendered
file. A key is either allowed here, and then Compose honours it exactly as the store author
tested it, or refused with its reason. A key in neither table is refused as unknown, so a new
Compose release cannot open a door by adding one. docs/manifest.md lists both tables.
"""

from __future__ import annotations

from typing import Final

# Service keys with no access to the host: Compose runs them as written.
PLAIN_SERVICE_KEYS: Final = frozenset(
    {
        "command",
        "entrypoint",
        "environment",
        "working_dir",
        "user",
        "group_add",
        "hostname",
        "domainname",
        "init",
        "read_only",
        "tty",
        "stdin_open",
        "stop_signal",
        "stop_grace_period",
        "restart",
        "healthcheck",
        "expose",
        "tmpfs",
        "depends_on",
        "attach",
        "mem_limit",
        "mem_reservation",
        "memswap_limit",
        "mem_swappiness",
        "shm_size",
        "cpus",
        "cpu_shares",
        "cpu_quota",
        "cpu_period",
        "cpuset",
        "pids_limit",
    }
)
# Service keys allowed with a check of their value (policy.py has one function per key).
CHECKED_SERVICE_KEYS: Final = frozenset(
    {
        "image",
        "container_name",
        "networks",
        "volumes",
        "cap_add",
        "cap_drop",
        "security_opt",
        "labels",
        "logging",
        "sysctls",
        "deploy",
        "oom_score_adj",
        "ulimits",
    }
)
REFUSED_SERVICE_KEYS: Final = {
    "privileged": (
        "privileged containers are root on the host: give back only the capabilities it "
        "needs, from Docker's default set, with cap_add"
    ),
    "pid": "it would share the host's or another container's process namespace",
    "ipc": "it would share the host's or another container's IPC namespace",
    "uts": "it would share the host's UTS namespace",
    "userns_mode": "it would change the user namespace",
    "cgroup": "it would share the host's cgroup namespace",
    "cgroup_parent": "store services run in the default cgroup",
    "network_mode": (
        "store containers join the cell network only: the service's containers find each "
        "other by service key on its private network; drop network_mode"
    ),
    "devices": (
        "host devices are not available to store services (this stays refused: an app "
        "that needs one cannot be a store service)"
    ),
    "device_cgroup_rules": "host devices are not available to store services",
    "gpus": "host devices are not available to store services",
    "runtime": "store services run with the engine's default runtime",
    "isolation": "store services run with the engine's default isolation",
    "volumes_from": (
        "a service may not take another container's volumes: mount the same named volume "
        "or ${PIC_DATA_DIR}/<id>/<name> folder in both services"
    ),
    "links": (
        "containers find each other by name already: use the other service's key as its "
        "host name, and drop links"
    ),
    "external_links": (
        "a service may only reach its own containers by name: run what it needs as a "
        "service of the same template"
    ),
    "build": (
        "cells do not build images: publish the image to the store registry (the store "
        "pipeline builds, scans and signs it) and name it with image"
    ),
    "env_file": "it reads a file from the host: write each variable under environment",
    "label_file": "it reads a file from the host: use labels",
    "extends": "it reads another file from the host",
    "ports": (
        "host ports bypass Caddy and the cell's firewall: serve the web port with the "
        "manifest's subdomain and backend (container:port), another port of the main "
        "container with iptables_rules (ACCEPT ${SERVICE_IP}, the port, tcp or udp), an HTTP "
        "port of another container with extra_subdomains and extra_backends; then drop ports"
    ),
    "dns": "store containers use the cell's DNS: drop dns",
    "dns_opt": "store containers use the cell's DNS",
    "dns_search": "store containers use the cell's DNS",
    "extra_hosts": (
        "it would point names of the cell at other addresses: containers of the service "
        "find each other by service key, and the cell's names resolve through its DNS"
    ),
    "mac_address": "the cell network assigns addresses",
    "platform": "the cell runs images for its own platform",
    "profiles": "every service of the template must start with it: drop profiles",
    "scale": "each service runs one container with its own name",
    "pull_policy": "the cell pulls each image itself, after verifying it",
    "secrets": "use environment with ${PIC_SECRET_<NAME>} or a config_schema secret field",
    "configs": "put configuration in the image or in environment",
    "storage_opt": "storage options reach the engine's storage driver",
    "blkio_config": "it names host block devices",
    "oom_kill_disable": "a container that may not be killed for memory can starve the host",
    "credential_spec": "it reads credentials from the host",
    "use_api_socket": "it would give the container the Docker engine: root on the host",
    "provider": "store services are containers",
    "models": "store services are containers",
    "develop": "the development mode watches host files",
    "post_start": "lifecycle hooks are not part of the store's contract",
    "pre_stop": "lifecycle hooks are not part of the store's contract",
    "annotations": "OCI annotations reach the runtime",
    "cpu_rt_runtime": "real-time scheduling can starve the host",
    "cpu_rt_period": "real-time scheduling can starve the host",
    "cpu_count": "use cpus",
    "cpu_percent": "use cpus",
}

TOP_LEVEL_KEYS: Final = frozenset({"name", "services", "networks", "volumes"})
REFUSED_TOP_LEVEL_KEYS: Final = {
    "include": "it reads other files from the host",
    "secrets": "use environment with ${PIC_SECRET_<NAME>} or a config_schema secret field",
    "configs": "put configuration in the image or in environment",
    "models": "store services are containers",
}

# The capabilities Docker gives every container: cap_add may only give back one of these
# after a cap_drop. Anything beyond them reaches into the host.
DOCKER_DEFAULT_CAPABILITIES: Final = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# Capabilities in Docker's default set that the renderer drops unless a template's cap_add
# asks for them (review names such a template): MKNOD makes device nodes, NET_RAW crafts
# packets on the cell network.
DROPPED_BY_DEFAULT: Final = ("MKNOD", "NET_RAW")
# ulimits that lift the container's scheduling above the host's own processes.
REFUSED_ULIMITS: Final = {
    "rtprio": "real-time scheduling can starve the host",
    "nice": "raising its priority above the host's processes can starve the host",
}
SECURITY_OPTIONS: Final = frozenset(
    {"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"}
)
LOG_DRIVERS: Final = frozenset({"json-file", "local", "none"})
LOG_OPTIONS: Final = frozenset({"max-size", "max-file", "compress"})
# Network-namespaced sysctls: they change the container's own network stack only.
SYSCTL_PREFIXES: Final = ("net.",)
DEPLOY_KEYS: Final = frozenset({"resources", "restart_policy"})
RESOURCE_KEYS: Final = frozenset({"cpus", "memory", "pids"})
VOLUME_TYPES: Final = frozenset({"volume", "bind", "tmpfs"})
BIND_PROPAGATION: Final = frozenset({"private", "rprivate"})
NETWORK_ENTRY_KEYS: Final = frozenset({"ipv4_address", "aliases"})
TOP_VOLUME_KEYS: Final = frozenset({"name", "labels"})
RESERVED_LABEL_PREFIXES: Final = ("com.docker.compose.", "ngo.pic.store.")
# The label the cell puts on every container of a service (its value: the service id).
OWNER_LABEL: Final = "ngo.pic.store.service"
