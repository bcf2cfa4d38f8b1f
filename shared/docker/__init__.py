"""The only door to the Docker engine: domain code uses these verbs, never aiodocker."""

from shared.docker.engine import ContainerInfo, DockerEngine, DockerError

__all__ = ["ContainerInfo", "DockerEngine", "DockerError"]
