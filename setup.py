"""ament_python package delivery_robot_nav.

The version is read from package.xml so the two can never drift.
"""
import re
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = 'delivery_robot_nav'
HERE = Path(__file__).parent
VERSION = re.search(r'<version>([^<]+)</version>', (HERE / 'package.xml').read_text()).group(1)


def share(folder):
    """data_files entries installing a folder's files under share/<package>/<folder>."""
    files = [f for f in glob(f'{folder}/**/*', recursive=True) if Path(f).is_file()]
    by_dir = {}
    for f in files:
        by_dir.setdefault(str(Path('share', PACKAGE, Path(f).parent)), []).append(f)
    return sorted(by_dir.items())


setup(
    name=PACKAGE,
    version=VERSION,
    package_dir={'': 'src'},
    packages=find_packages('src'),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        *share('config'),
        *share('launch'),
        *share('urdf'),
        *share('worlds'),
        *share('bench'),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='delivery_robot_nav maintainers',
    maintainer_email='nav@delivery-robot.example',
    description='Navigation stack and embedded simulator of a campus delivery robot.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'delivery-nav = delivery_robot_nav.cli:main',
            'sim_node = delivery_robot_nav.sim.node:main',
            'scripted_driver = delivery_robot_nav.demo.node:main',
            'localization_node = delivery_robot_nav.localization.node:main',
            'obstacle_detection_node = delivery_robot_nav.perception.node:main',
            'path_following_node = delivery_robot_nav.planning.node:main',
            'mission_node = delivery_robot_nav.mission.node:main',
        ],
    },
)
