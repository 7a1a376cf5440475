"""Schema and typed view of the simulator's parameters (values: config/sim.yaml)."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

from delivery_robot_nav.common.params import ParamError, ParamSpec, load_params_file
from delivery_robot_nav.common.paths import share_path

NODE_NAME = 'sim_node'
P = ParamSpec

SIM_PARAMS: list[ParamSpec] = [
    P('world_file', str, 'SDF world file; empty selects the package campus world'),
    P('robot_description_file', str, 'URDF of the robot; empty selects the package URDF'),
    P('real_time_factor', float, 'simulated seconds per wall-clock second (ROS node)', '',
      0.01, 1000.0),
    P('start_delay', float, 'wall time the node waits before simulation time starts, so '
      'subscribers can connect (ROS node)', 's', 0.0, 600.0),
    P('seed', int, 'seed of every random noise source', '', 0, 2**31 - 1),
    P('step_rate_hz', float, 'base rate of motion integration; sensor rates divide it', 'Hz',
      10.0, 2000.0),
    P('start_x', float, 'initial robot x in the world frame', 'm'),
    P('start_y', float, 'initial robot y in the world frame', 'm'),
    P('start_yaw', float, 'initial robot heading in the world frame', 'rad', -7.0, 7.0),
    P('publish_ground_truth', bool, 'publish sim/ground_truth (map frame)'),
    P('publish_odom_tf', bool, 'broadcast odom -> base_link from wheel odometry on tf'),
    P('use_stamped_cmd_vel', bool, 'subscribe cmd_vel as TwistStamped instead of Twist'),
    P('motion.max_linear_velocity', float, 'forward speed limit of the base', 'm/s', 0.0, 5.0),
    P('motion.min_linear_velocity', float, 'reverse speed limit (negative)', 'm/s', -5.0, 0.0),
    P('motion.max_angular_velocity', float, 'yaw rate limit', 'rad/s', 0.0, 10.0),
    P('motion.max_linear_acceleration', float, 'speed-up limit', 'm/s^2', 0.01, 20.0),
    P('motion.max_linear_deceleration', float, 'braking limit', 'm/s^2', 0.01, 20.0),
    P('motion.max_angular_acceleration', float, 'yaw acceleration limit', 'rad/s^2', 0.01, 50.0),
    P('motion.cmd_timeout', float, 'brake to a stop after this long without cmd_vel', 's',
      0.01, 10.0),
    P('motion.slip_stddev', float, 'per-wheel longitudinal slip, fraction of wheel speed', '',
      0.0, 0.5),
    P('motion.slip_correlation_time', float, 'slip correlation time (Gauss-Markov)', 's',
      0.001, 100.0),
    P('motion.wheel_radius_error_stddev', float, 'per-run tyre radius error, fraction', '',
      0.0, 0.1),
    P('motion.wheel_separation_error_stddev', float, 'per-run track width error, fraction', '',
      0.0, 0.2),
    P('odom.rate_hz', float, 'wheel odometry rate', 'Hz', 1.0, 1000.0),
    P('odom.encoder_ticks_per_revolution', int, 'encoder counts per wheel revolution', '',
      1, 10**7),
    P('odom.latency', float, 'measurement to publication delay', 's', 0.0, 1.0),
    P('lidar.rate_hz', float, 'scan rate', 'Hz', 1.0, 100.0),
    P('lidar.beams', int, 'beams over the field of view', '', 8, 100000),
    P('lidar.field_of_view', float, 'horizontal field of view, centred on the laser x axis', 'rad', 0.1, 6.2832),
    P('lidar.range_min', float, 'minimum range', 'm', 0.0, 10.0),
    P('lidar.range_max', float, 'maximum range', 'm', 0.5, 300.0),
    P('lidar.noise_stddev', float, 'gaussian range noise', 'm', 0.0, 1.0),
    P('lidar.latency', float, 'measurement to publication delay', 's', 0.0, 1.0),
    P('imu.rate_hz', float, 'IMU rate', 'Hz', 1.0, 2000.0),
    P('imu.gyro_noise_stddev', float, 'gyro white noise per sample', 'rad/s', 0.0, 1.0),
    P('imu.gyro_bias_stddev', float, 'per-run gyro bias', 'rad/s', 0.0, 1.0),
    P('imu.accel_noise_stddev', float, 'accelerometer white noise per sample', 'm/s^2', 0.0, 10.0),
    P('imu.accel_bias_stddev', float, 'per-run accelerometer bias', 'm/s^2', 0.0, 10.0),
    P('imu.latency', float, 'measurement to publication delay', 's', 0.0, 1.0),
    P('gnss.rate_hz', float, 'fix rate', 'Hz', 0.1, 100.0),
    P('gnss.horizontal_stddev', float, 'horizontal position error (correlated)', 'm', 0.0, 100.0),
    P('gnss.vertical_stddev', float, 'vertical position error (correlated)', 'm', 0.0, 100.0),
    P('gnss.correlation_time', float, 'error correlation time (Gauss-Markov)', 's', 0.0, 3600.0),
    P('gnss.velocity_stddev', float, 'Doppler velocity noise per axis (white)', 'm/s', 0.0, 10.0),
    P('gnss.latency', float, 'measurement to publication delay', 's', 0.0, 2.0),
    P('gnss.outage_regions', list, 'no-fix rectangles xmin, ymin, xmax, ymax, flattened', 'm',
      list_multiple_of=4),
    P('depth_camera.enabled', bool, 'simulate the depth camera'),
    P('depth_camera.rate_hz', float, 'frame rate', 'Hz', 0.1, 100.0),
    P('depth_camera.width', int, 'ray-grid columns', 'px', 2, 4096),
    P('depth_camera.height', int, 'ray-grid rows', 'px', 2, 4096),
    P('depth_camera.horizontal_fov', float, 'horizontal field of view', 'rad', 0.1, 3.0),
    P('depth_camera.range_min', float, 'closest valid depth', 'm', 0.0, 10.0),
    P('depth_camera.range_max', float, 'farthest valid depth', 'm', 0.1, 100.0),
    P('depth_camera.noise_coefficient', float, 'depth noise stddev = k * z^2', '1/m', 0.0, 1.0),
    P('depth_camera.latency', float, 'measurement to publication delay', 's', 0.0, 1.0),
    P('actors.radius', float, 'pedestrian cylinder radius', 'm', 0.05, 2.0),
    P('actors.height', float, 'pedestrian cylinder height', 'm', 0.1, 3.0),
]

# The node applies these while running; every other parameter is fixed at start.
LIVE_PARAMS = ('real_time_factor', 'publish_ground_truth')
SIM_PARAMS = [replace(s, read_only=s.name not in LIVE_PARAMS) for s in SIM_PARAMS]


@dataclass(frozen=True)
class MotionConfig:
    max_linear_velocity: float
    min_linear_velocity: float
    max_angular_velocity: float
    max_linear_acceleration: float
    max_linear_deceleration: float
    max_angular_acceleration: float
    cmd_timeout: float
    slip_stddev: float
    slip_correlation_time: float
    wheel_radius_error_stddev: float
    wheel_separation_error_stddev: float


@dataclass(frozen=True)
class OdomConfig:
    rate_hz: float
    encoder_ticks_per_revolution: int
    latency: float


@dataclass(frozen=True)
class LidarConfig:
    rate_hz: float
    beams: int
    field_of_view: float
    range_min: float
    range_max: float
    noise_stddev: float
    latency: float


@dataclass(frozen=True)
class ImuConfig:
    rate_hz: float
    gyro_noise_stddev: float
    gyro_bias_stddev: float
    accel_noise_stddev: float
    accel_bias_stddev: float
    latency: float


@dataclass(frozen=True)
class GnssConfig:
    rate_hz: float
    horizontal_stddev: float
    vertical_stddev: float
    correlation_time: float
    velocity_stddev: float
    latency: float
    outage_regions: tuple[tuple[float, float, float, float], ...]


@dataclass(frozen=True)
class DepthCameraConfig:
    enabled: bool
    rate_hz: float
    width: int
    height: int
    horizontal_fov: float
    range_min: float
    range_max: float
    noise_coefficient: float
    latency: float


@dataclass(frozen=True)
class ActorConfig:
    radius: float
    height: float


@dataclass(frozen=True)
class SimConfig:
    world_file: str
    robot_description_file: str
    real_time_factor: float
    start_delay: float
    seed: int
    step_rate_hz: float
    start_pose: tuple[float, float, float]
    publish_ground_truth: bool
    publish_odom_tf: bool
    use_stamped_cmd_vel: bool
    motion: MotionConfig
    odom: OdomConfig
    lidar: LidarConfig
    imu: ImuConfig
    gnss: GnssConfig
    depth_camera: DepthCameraConfig
    actors: ActorConfig

    @classmethod
    def from_params(cls, values: dict, source: str = 'parameters') -> SimConfig:
        """Build from validated flat parameters; checks the cross-field rules."""
        def group(klass, prefix):
            kw = {f.name: values[f'{prefix}.{f.name}'] for f in fields(klass)
                  if f'{prefix}.{f.name}' in values}
            if klass is GnssConfig:
                flat = kw['outage_regions']
                kw['outage_regions'] = tuple(tuple(flat[i:i + 4]) for i in range(0, len(flat), 4))
            return klass(**kw)

        cfg = cls(
            world_file=values['world_file'] or str(share_path('worlds', 'campus.sdf')),
            robot_description_file=(values['robot_description_file']
                                    or str(share_path('urdf', 'delivery_robot.urdf'))),
            real_time_factor=values['real_time_factor'], start_delay=values['start_delay'],
            seed=values['seed'],
            step_rate_hz=values['step_rate_hz'],
            start_pose=(values['start_x'], values['start_y'], values['start_yaw']),
            publish_ground_truth=values['publish_ground_truth'],
            publish_odom_tf=values['publish_odom_tf'],
            use_stamped_cmd_vel=values['use_stamped_cmd_vel'],
            motion=group(MotionConfig, 'motion'), odom=group(OdomConfig, 'odom'),
            lidar=group(LidarConfig, 'lidar'), imu=group(ImuConfig, 'imu'),
            gnss=group(GnssConfig, 'gnss'), depth_camera=group(DepthCameraConfig, 'depth_camera'),
            actors=group(ActorConfig, 'actors'))
        cfg.check(source)
        return cfg

    def check(self, source: str):
        for name, rate in self.sensor_rates().items():
            ratio = self.step_rate_hz / rate
            if abs(ratio - round(ratio)) > 1e-6:
                raise ParamError(f'{source}: parameter "{name}.rate_hz" = {rate} must divide '
                                 f'step_rate_hz = {self.step_rate_hz}')
        if self.lidar.range_min >= self.lidar.range_max:
            raise ParamError(f'{source}: lidar.range_min must be < lidar.range_max')
        if self.depth_camera.range_min >= self.depth_camera.range_max:
            raise ParamError(f'{source}: depth_camera.range_min must be < depth_camera.range_max')
        for xmin, ymin, xmax, ymax in self.gnss.outage_regions:
            if xmin >= xmax or ymin >= ymax:
                raise ParamError(f'{source}: gnss.outage_regions: rectangle '
                                 f'{[xmin, ymin, xmax, ymax]} needs xmin < xmax and ymin < ymax')

    def sensor_rates(self) -> dict[str, float]:
        rates = {'odom': self.odom.rate_hz, 'lidar': self.lidar.rate_hz,
                 'imu': self.imu.rate_hz, 'gnss': self.gnss.rate_hz}
        if self.depth_camera.enabled:
            rates['depth_camera'] = self.depth_camera.rate_hz
        return rates

    def period_steps(self, sensor: str) -> int:
        return int(round(self.step_rate_hz / self.sensor_rates()[sensor]))


def default_config_path() -> Path:
    return share_path('config', 'sim.yaml')


def load_sim_config(path: str | Path | None = None, overrides: dict | None = None) -> SimConfig:
    """Read, validate and type the simulator parameters (default: the package's sim.yaml)."""
    path = Path(path) if path else default_config_path()
    values = load_params_file(path, NODE_NAME, SIM_PARAMS, overrides)
    return SimConfig.from_params(values, str(path))

