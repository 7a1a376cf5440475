"""Test-wide setup: DDS stays on loopback, and this run gets a ROS domain of its own."""
import os
from pathlib import Path

import pytest

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(100 + os.getpid() % 100))
os.environ.setdefault('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')

REPO = Path(__file__).resolve().parents[1]
BARN = REPO.parent / 'shared' / 'benchmarks' / 'barn'


@pytest.fixture(scope='session')
def repo() -> Path:
    return REPO


@pytest.fixture(scope='session')
def barn_dir() -> Path:
    if not (BARN / 'worlds').is_dir():
        pytest.fail(f'BARN benchmark worlds not found at {BARN} (../shared beside the checkout)')
    return BARN


@pytest.fixture
def write_sdf(tmp_path):
    """Write an SDF world from the body of its <world> element; returns the path."""
    def write(body: str, name: str = 'test.sdf', version: str = '1.9') -> Path:
        path = tmp_path / name
        path.write_text(f'<?xml version="1.0"?>\n<sdf version="{version}">\n'
                        f'<world name="test">\n{body}\n</world>\n</sdf>\n')
        return path
    return write
