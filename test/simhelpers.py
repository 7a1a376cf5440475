"""Building small simulators for tests (no ROS)."""
from delivery_robot_nav.common.world import load_world
from delivery_robot_nav.sim.config import load_sim_config
from delivery_robot_nav.sim.core import Simulator
from delivery_robot_nav.sim.robot_model import load_robot_model

NOISELESS = {
    'motion.slip_stddev': 0.0, 'motion.wheel_radius_error_stddev': 0.0,
    'motion.wheel_separation_error_stddev': 0.0, 'lidar.noise_stddev': 0.0,
    'imu.gyro_noise_stddev': 0.0, 'imu.gyro_bias_stddev': 0.0, 'imu.accel_noise_stddev': 0.0,
    'imu.accel_bias_stddev': 0.0, 'gnss.horizontal_stddev': 0.0, 'gnss.vertical_stddev': 0.0,
    'depth_camera.noise_coefficient': 0.0,
}

WALL = '''
<model name="wall"><static>true</static><pose>{x} 0 1 0 0 0</pose>
  <link name="link"><collision name="collision">
    <geometry><box><size>0.2 20 2</size></box></geometry></collision></link></model>
'''


def make_sim(world_path, start=(0.0, 0.0, 0.0), seed=0, **overrides) -> Simulator:
    cfg = load_sim_config(overrides=overrides)
    return Simulator(load_world(world_path), load_robot_model(cfg.robot_description_file), cfg,
                     seed=seed, start=start)
