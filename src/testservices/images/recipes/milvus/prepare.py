"""Unpack the wheel's binaries into <root>/bin and write <root>/configs for a container (build time)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from milvus_config import MILVUS_WHEEL_VERSION, config_values, render_config, template_defaults

import milvus


def main(root: Path) -> None:
    # The wheel has no public function that only unpacks its binaries (MilvusServer.start also runs the
    # server): its private one is used, so only the version it was checked against is accepted.
    if milvus.__version__ != MILVUS_WHEEL_VERSION:
        raise SystemExit(
            f"testservices needs milvus=={MILVUS_WHEEL_VERSION} (found {milvus.__version__}): "
            f"pip install milvus=={MILVUS_WHEEL_VERSION}"
        )
    milvus._initialize_data_files(str(root))
    for checksum in (root / "bin").glob("*.md5"):
        checksum.unlink()
    data = Path(milvus.__file__).parent / "data"
    template = (data / "config.yaml.template").read_text()
    # A container has its own network: the template's default ports are free there.
    defaults = template_defaults(template)
    ports = {key: value for key, value in defaults.items() if key.endswith("_port")}
    configs = root / "configs"
    configs.mkdir(parents=True, exist_ok=True)
    values = config_values(ports, "/var/lib/milvus", etcd_log_path="stdout")
    (configs / "milvus.yaml").write_text(render_config(template, values, milvus.__version__))
    shutil.copy(data / "glog.conf", configs / "glog.conf")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
