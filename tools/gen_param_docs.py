#!/usr/bin/env python3
"""Regenerate the generated tables of the docs: the parameter tables in docs/nodes/*.md
(from the schemas and config/*.yaml) and the topic contract in docs/DEPLOY.md (from
common/contract.py).

Each table sits between `<!-- params:begin -->` and `<!-- params:end -->` (`contract:` for
the contract); test_docs.py fails when a table is stale.
Run: .venv/bin/python tools/gen_param_docs.py
"""
import re
from pathlib import Path

from delivery_robot_nav.common import contract
from delivery_robot_nav.common.params import markdown_table
from delivery_robot_nav.demo import config as demo_config
from delivery_robot_nav.localization import config as loc_config
from delivery_robot_nav.mission import config as mission_config
from delivery_robot_nav.perception import config as det_config
from delivery_robot_nav.planning import config as pf_config
from delivery_robot_nav.sim import config as sim_config

DOCS = Path(__file__).resolve().parents[1] / 'docs' / 'nodes'
DEPLOY = DOCS.parent / 'DEPLOY.md'


def block(marker: str):
    return re.compile(rf'(<!-- {marker}:begin -->\n).*?(<!-- {marker}:end -->)', re.S)


def tables() -> dict[Path, str]:
    from delivery_robot_nav.common.params import load_params_file
    sim_values = load_params_file(sim_config.default_config_path(), sim_config.NODE_NAME,
                                  sim_config.SIM_PARAMS)
    drv_values = demo_config.load_driver_params()
    loc_values = loc_config.load_localization_params()
    det_values = det_config.load_detection_params()
    pf_values = pf_config.load_path_following_params()
    return {DOCS / 'sim_node.md': markdown_table(sim_config.SIM_PARAMS, sim_values),
            DOCS / 'scripted_driver.md': markdown_table(demo_config.DRIVER_PARAMS, drv_values),
            DOCS / 'localization.md': markdown_table(loc_config.LOCALIZATION_PARAMS, loc_values),
            DOCS / 'obstacle_detection.md': markdown_table(det_config.OBSTACLE_DETECTION_PARAMS,
                                                           det_values),
            DOCS / 'path_following.md': markdown_table(pf_config.PATH_FOLLOWING_PARAMS,
                                                       pf_values),
            DOCS / 'mission.md': markdown_table(mission_config.MISSION_PARAMS,
                                                mission_config.load_mission_params()),
            DEPLOY: contract.markdown_table()}


def render(path: Path, table: str) -> str:
    marker = 'contract' if path == DEPLOY else 'params'
    text = path.read_text()
    if not block(marker).search(text):
        raise SystemExit(f'{path}: no <!-- {marker}:begin --> ... <!-- {marker}:end --> block')
    return block(marker).sub(lambda m: m.group(1) + table + '\n' + m.group(2), text)


def main():
    for path, table in tables().items():
        path.write_text(render(path, table))
        print(f'updated {path}')


if __name__ == '__main__':
    main()
