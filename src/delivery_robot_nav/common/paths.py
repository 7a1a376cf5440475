"""Where the package's shared files (config/, urdf/, worlds/, launch/) are.

Installed with colcon (or any ament prefix on AMENT_PREFIX_PATH): the package's share
directory from the ament index. Otherwise (pip editable install, source checkout): the
repository root that holds package.xml. DELIVERY_ROBOT_NAV_SHARE overrides both.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

PACKAGE = 'delivery_robot_nav'


@lru_cache(maxsize=1)
def share_dir() -> Path:
    override = os.environ.get('DELIVERY_ROBOT_NAV_SHARE')
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / 'package.xml').is_file() and (checkout / 'config').is_dir():
        return checkout
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE))
    except Exception as exc:  # PackageNotFoundError, or ament_index missing
        raise FileNotFoundError(
            f'cannot find the share directory of {PACKAGE}: not a source checkout and not in '
            f'the ament index ({exc}); set DELIVERY_ROBOT_NAV_SHARE') from exc


def share_path(*parts: str) -> Path:
    return share_dir().joinpath(*parts)
