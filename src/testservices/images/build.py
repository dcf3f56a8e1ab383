"""`testservices images build`: the local images, built with no registry at all.

1. A Debian root file system made by debootstrap from the machine's own Debian mirror, imported as an
   image (`<prefix>/debian:bookworm`); or, where a registry is reachable, TESTSERVICES_BASE_IMAGE.
2. `<prefix>/base:<digest>`: CA certificates (the build machine's bundle, so a TLS-inspecting proxy is
   trusted), Python, wget and curl.
3. One image per service from the same server packages the local backend runs, FROM that base.

Each step is skipped when its tag exists, so a second build costs a few inspections. The classic builder
is used: BuildKit fetches its frontends from a registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from testservices.errors import BackendUnavailableError, HarnessError
from testservices.images import Recipe, prefix, recipe

SYSTEM_CA_FILES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"


class ImageBuildError(HarnessError):
    """An image did not build; the message carries the end of the build's output."""


def debian_mirror() -> str:
    """TESTSERVICES_DEBIAN_MIRROR, else the mirror this machine's apt uses, else deb.debian.org."""
    explicit = os.environ.get("TESTSERVICES_DEBIAN_MIRROR")
    if explicit:
        return explicit
    for source in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if not source.is_file():
            continue
        for line in source.read_text().splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and len(words) > 1:
                return words[1]
            if words[:1] == ["deb"]:
                return next(w for w in words[1:] if "://" in w)
    return DEFAULT_MIRROR


def ca_bundle() -> Path:
    for candidate in (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("PIP_CERT", ""), *SYSTEM_CA_FILES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ImageBuildError(
        "no CA certificate bundle found for the image builds; set SSL_CERT_FILE to a PEM bundle "
        "(e.g. /etc/ssl/certs/ca-certificates.crt from Debian's ca-certificates package)"
    )


class ImageBuilder:
    def __init__(self, say: Callable[[str], None] = print, *, client: Any = None) -> None:
        try:
            import docker
        except ImportError as exc:
            raise BackendUnavailableError(
                "building images needs the docker SDK: `pip install 'vectorstack[docker]'` (or `pip install docker`)"
            ) from exc
        try:
            self.client = client or docker.from_env(timeout=600)
            self.client.ping()
        except docker.errors.DockerException as exc:
            raise BackendUnavailableError(
                "no Docker engine answers (`docker info` fails); start one, then build again"
            ) from exc
        self.errors = docker.errors
        self.say = say

    # -- the whole build --------------------------------------------------------------------------------
    def build(self, services: Iterable[str], *, rebuild: bool = False) -> dict[str, str]:
        """Build what is missing (everything with `rebuild`); returns {service: tag}."""
        wanted = [recipe(name) for name in dict.fromkeys(services)]
        base = self.base(rebuild=rebuild)
        built = {}
        for number, item in enumerate(wanted, 1):
            tag = item.tag()
            if not rebuild and self.exists(tag):
                self.say(f"[{number}/{len(wanted)}] {item.name}: {tag} is built already")
            else:
                self.say(f"[{number}/{len(wanted)}] {item.name}: building {tag} ...")
                self._build(item, tag, {"BASE": base, **item.build_args})
            built[item.name] = tag
        return built

    def exists(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
        except self.errors.ImageNotFound:
            return False
        return True

    def base(self, *, rebuild: bool = False) -> str:
        base = Recipe("base")
        tag = base.tag()
        if not rebuild and self.exists(tag):
            return tag
        rootfs = os.environ.get("TESTSERVICES_BASE_IMAGE") or self.rootfs(rebuild=rebuild)
        self.say(f"base: building {tag} from {rootfs} ...")
        self._build(base, tag, {"ROOTFS": rootfs}, extra={"ca-certificates.crt": ca_bundle()})
        return tag

    # -- step 1: Debian from debootstrap ---------------------------------------------------------------
    def rootfs(self, *, rebuild: bool = False) -> str:
        tag = f"{prefix()}/debian:{SUITE}"
        if not rebuild and self.exists(tag):
            return tag
        debootstrap = shutil.which("debootstrap")
        if debootstrap is None or os.geteuid() != 0:
            raise ImageBuildError(
                "the base image is made with debootstrap, as root: `apt-get install debootstrap` and build "
                "as root, or set TESTSERVICES_BASE_IMAGE to a Debian bookworm image you can pull "
                "(e.g. debian:bookworm-slim)"
            )
        mirror = debian_mirror()
        with tempfile.TemporaryDirectory(prefix="testservices-rootfs-") as folder:
            root = Path(folder) / "rootfs"
            self.say(f"base: debootstrap --variant=minbase {SUITE} from {mirror} (about half a minute) ...")
            started = time.monotonic()
            done = subprocess.run(
                [debootstrap, "--variant=minbase", SUITE, str(root), mirror],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise ImageBuildError(f"debootstrap failed:\n{(done.stdout + done.stderr)[-2000:]}")
            for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for path in (root / leftover).glob("*"):
                    if path.is_file():
                        path.unlink()
            self.say(f"base: root file system made in {time.monotonic() - started:.0f} s; importing {tag}")
            tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            try:
                repository, _, name = tag.rpartition(":")
                self.client.api.import_image(src=tar.stdout, repository=repository, tag=name, changes=['CMD ["bash"]'])
            finally:
                tar.wait()
        return tag

    # -- steps 2 and 3 ----------------------------------------------------------------------------------
    def _build(self, item: Recipe, tag: str, args: dict[str, str], extra: dict[str, Path] | None = None) -> None:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"testservices-{item.name}-") as folder:
            context = Path(folder)
            for path in item.files():
                shutil.copy(path, context / path.name)
            for name, path in (extra or {}).items():
                shutil.copy(path, context / name)
            output: list[str] = []
            try:
                for line in self._stream(context, tag, args):
                    output.append(line)
                    if line.startswith("Step "):
                        self.say(f"  {item.name}: {line[:110]}")
            except self.errors.APIError as exc:
                raise ImageBuildError(f"building {tag} failed: {exc}") from exc
            if not self.exists(tag):
                raise ImageBuildError(f"building {tag} failed:\n" + "\n".join(output[-25:]))
        self.say(f"  {item.name}: built {tag} in {time.monotonic() - started:.0f} s")

    def _stream(self, context: Path, tag: str, args: dict[str, str]) -> Iterator[str]:
        for chunk in self.client.api.build(
            path=str(context), tag=tag, buildargs=args, rm=True, forcerm=True, decode=True, pull=False
        ):
            if "error" in chunk:
                yield f"ERROR: {chunk['error'].strip()}"
                continue
            for line in str(chunk.get("stream", "")).splitlines():
                if line.strip():
                    yield line.strip()
