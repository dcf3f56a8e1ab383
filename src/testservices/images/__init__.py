"""Which image each compose service runs: the official one (pulled), or a local one built here.

The compose files name every image as `${TESTSERVICES_<SERVICE>_IMAGE:-<official image>}`, so one set of
files serves both. With `TESTSERVICES_IMAGES=local` the harness fills those variables with the tags of
images built by `testservices images build` from Debian, PyPI and npm packages (no registry needed). A
local tag is the digest of its recipe folder, so a changed recipe is never run from a stale image and an
unchanged one is never rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from testservices.errors import ConfigurationError

RECIPES = Path(__file__).parent / "recipes"
FLAVORS = ("official", "local")
DEFAULT_PREFIX = "vectorstack-local"
# Files from outside a recipe folder that its build needs, by recipe: the Milvus image renders its config
# with the same module the local backend uses.
EXTRA_FILES: dict[str, tuple[Path, ...]] = {
    "milvus": (Path(__file__).parents[1] / "specs" / "milvus_config.py",),
}
# Servers that are one Debian package each share the `debian-server` recipe, with these build arguments.
DEBIAN_SERVERS: dict[str, dict[str, str]] = {
    "prometheus": {"PACKAGE": "prometheus", "WORKDIR": "/prometheus"},
    "pushgateway": {"PACKAGE": "prometheus-pushgateway", "WORKDIR": "/pushgateway"},
    "alertmanager": {"PACKAGE": "prometheus-alertmanager", "WORKDIR": "/alertmanager"},
}
SHARED_FOLDERS = ("base", "debian-server")


def flavor(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    chosen = env.get("TESTSERVICES_IMAGES", "official").strip().lower() or "official"
    if chosen not in FLAVORS:
        raise ConfigurationError(
            f"TESTSERVICES_IMAGES={chosen!r}: choose `official` (images from their registries) or `local` "
            "(images built here by `testservices images build`)"
        )
    return chosen


def prefix(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("TESTSERVICES_IMAGE_PREFIX", "").strip().rstrip("/") or DEFAULT_PREFIX


def image_variable(service: str) -> str:
    """The compose variable naming a service's image, e.g. TESTSERVICES_REDIS_IMAGE."""
    return f"TESTSERVICES_{service.upper()}_IMAGE"


def recipe_names() -> list[str]:
    own = {p.name for p in RECIPES.iterdir() if (p / "Dockerfile").is_file() and p.name not in SHARED_FOLDERS}
    return sorted(own | set(DEBIAN_SERVERS))


@dataclass(frozen=True)
class Recipe:
    """A folder with a Dockerfile (FROM ${BASE}) and the files it copies."""

    name: str

    @property
    def folder(self) -> Path:
        return RECIPES / ("debian-server" if self.name in DEBIAN_SERVERS else self.name)

    @property
    def build_args(self) -> dict[str, str]:
        return dict(DEBIAN_SERVERS.get(self.name, {}))

    def files(self) -> list[Path]:
        own = sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return [*own, *EXTRA_FILES.get(self.name, ())]

    def digest(self) -> str:
        """Over the recipe's files and the base recipe's: what the image is built from."""
        sha = hashlib.sha256()
        recipes = [self] if self.name == "base" else [Recipe("base"), self]
        for recipe in recipes:
            for path in recipe.files():
                sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
            sha.update(repr(sorted(recipe.build_args.items())).encode())
        return sha.hexdigest()[:12]

    def tag(self, env: Mapping[str, str] | None = None) -> str:
        return f"{prefix(env)}/{self.name}:{self.digest()}"


def recipe(service: str) -> Recipe:
    if service not in recipe_names():
        raise ConfigurationError(f"no local image recipe for {service!r}; recipes: {', '.join(recipe_names())}")
    return Recipe(service)


def compose_images(services: Iterable[str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The image variables to give compose: with local images, each service's local tag, unless the user
    named an image for it already (an explicit TESTSERVICES_<SERVICE>_IMAGE always wins)."""
    env = os.environ if env is None else env
    if flavor(env) != "local":
        return {}
    return {image_variable(name): recipe(name).tag(env) for name in services if not env.get(image_variable(name))}
