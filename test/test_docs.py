"""Docs generated from one source stay current."""
import importlib.util

from delivery_robot_nav.common.paths import share_path


def test_parameter_tables_in_node_docs_are_current(repo):
    spec = importlib.util.spec_from_file_location('gen', repo / 'tools' / 'gen_param_docs.py')
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for path, table in gen.tables().items():
        assert path.read_text() == gen.render(path, table), \
            f'{path.name} is stale: run .venv/bin/python tools/gen_param_docs.py'


def test_share_dir_is_the_checkout(repo):
    assert share_path('config', 'sim.yaml') == repo / 'config' / 'sim.yaml'
