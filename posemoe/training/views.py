"""Training clips seen by virtual cameras: 3D motion from a :class:`~posemoe.datasets.motion.MotionBank`,
a camera sampled around the person for each clip, the 2D it would see at a random video frame rate,
normalised with the model's codec.

Each clip: a window of ``T`` frames at the bank's rate, its speed scaled by 0.8-1.25; the camera
from :mod:`posemoe.training.virtual_camera` (any azimuth, from below the hips to overhead, wide to
tele lenses, portrait and landscape frames, off-centre, sometimes moving, sometimes cutting the
person off); the 2D as a video at 12-60 fps would give it once resampled to the model's rate
(linear between video frames, as :class:`~posemoe.inference.lifter.Lifter` resamples); mirrored
with probability 1/2; optionally with the legs or the arms of another clip (``limb_mix``: poses the
sources do not have, e.g. a crouch under a reaching torso) and each bone's length scaled
(``bone_jitter``: body proportions and joint definitions the sources do not have); optionally drawn
so that rare torso tilts (bending over, crouching, lying) come more often (``tilt_balance``).
With :func:`retarget_bones`, the motion of other sources is put on Human3.6M's proportions first.
Targets are the camera-frame 3D, root-relative, in metres.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from posemoe.codecs import flip_horizontal, make_codec, match_channels
from posemoe.datasets.motion import MotionBank
from posemoe.errors import UserError
from posemoe.layouts import H36M17


def _video_rate_2d(pixels: np.ndarray, video_fps: np.ndarray, model_fps: float) -> np.ndarray:
    """(B, T, J, 2) at the model's rate -> what a video at ``video_fps`` (B,) shows once resampled
    back to the model's rate: the 2D sampled at the video's frame times, linear in between."""
    b, t = pixels.shape[:2]
    out = pixels.copy()
    model_t = np.arange(t) / model_fps
    for i in np.nonzero(video_fps < model_fps)[0]:
        phase = np.random.default_rng(int(i)).uniform(0, 1.0 / video_fps[i])
        video_t = np.arange(
            phase - 1.0 / video_fps[i], model_t[-1] + 1.0 / video_fps[i], 1.0 / video_fps[i]
        )
        flat = pixels[i].reshape(t, -1)
        at_video = np.stack(
            [np.interp(video_t, model_t, flat[:, k]) for k in range(flat.shape[1])], -1
        )
        back = np.stack(
            [np.interp(model_t, video_t, at_video[:, k]) for k in range(flat.shape[1])], -1
        )
        out[i] = back.reshape(pixels[i].shape)
    return out


def scale_bones(world: np.ndarray, factors: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """(B, T, J, 3) motion, (B, J) factors -> the same motion with the bone from each joint's parent
    to the joint scaled by that joint's factor, joints re-placed from the root outwards
    (``parents[j] < j``, as in the layouts; the root's factor is unused). Directions, and the
    root's path, are kept."""
    out = world.copy()
    for j, p in enumerate(parents):
        if p >= 0:
            out[:, :, j] = (
                out[:, :, p] + (world[:, :, j] - world[:, :, p]) * factors[:, None, j, None]
            )
    return out


def retarget_bones(bank: MotionBank, reference: str = "h36m") -> MotionBank:
    """The bank with every bone of each sequence not from ``reference`` (a source kind) rescaled to
    the median length of that bone over the reference source's frames; directions and the root's
    path are kept. Mocap rigs place joints elsewhere than Human3.6M's markers (the Bandai-Namco rig's
    hips are half as far apart, its people 13 % smaller): retargeted, every source teaches the joint
    definitions and body size that the lifter's output stands for, and keeps its motion."""
    from posemoe.inference.skeleton import bone_lengths

    is_reference = [kind == reference for _, kind, _, _ in bank.sequences]
    if not any(is_reference):
        raise UserError(
            f"retarget_bones needs a {reference!r} motion source to take the bone lengths from"
        )
    frames = np.concatenate(
        [np.arange(s, s + n) for (_, _, s, n), ref in zip(bank.sequences, is_reference) if ref]
    )
    target = np.median(bone_lengths(bank.positions[frames[::10]]), axis=0)  # (J,), the root's 0
    positions = bank.positions.copy()
    for (_, _, start, length), ref in zip(bank.sequences, is_reference):
        if not ref:
            own = np.median(bone_lengths(bank.positions[start : start + length]), axis=0)
            factors = np.where(own > 1e-6, target / np.maximum(own, 1e-6), 1.0)
            positions[start : start + length] = scale_bones(
                bank.positions[None, start : start + length], factors[None], H36M17.parents
            )[0]
    return replace(bank, positions=positions)


LIMBS = {
    "legs": (
        ("LHip", "RHip", "Hip", "Spine"),
        (("RHip", "RKnee", "RFoot"), ("LHip", "LKnee", "LFoot")),
    ),
    "arms": (
        ("LShoulder", "RShoulder", "Spine", "Thorax"),
        (("RShoulder", "RElbow", "RWrist"), ("LShoulder", "LElbow", "LWrist")),
    ),
}
"""Limb groups that :func:`mix_limbs` exchanges: (left, right, lower, upper) joints of the body frame
they hang from, and their chains from the attachment joint outwards (H36M-17 names)."""


def torso_tilt(poses: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """(..., J, 3) H36M-17 poses -> (...,) degrees between the pelvis-to-thorax line and ``up`` (a unit
    vector: z for the motion bank's world, (0, -1, 0) for a level camera's frame): 0 upright, 90 lying
    or bent flat over, 180 upside down."""
    torso = poses[..., H36M17.index("Thorax"), :] - poses[..., H36M17.root, :]
    cos = torso @ np.asarray(up) / np.maximum(np.linalg.norm(torso, axis=-1), 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def tilt_balanced_weights(bank: MotionBank, power: float, bin_degrees: float = 15.0) -> np.ndarray:
    """(N,) sampling probability of each bank frame: its sequence's weight spread over its frames,
    times ``density ** -power`` of its torso tilt's bin (density: the share of sampled frames in that
    bin). ``power`` 0 keeps the bank's own mix; 1 gives every tilt bin that occurs the same share,
    so that bending over, crouching and lying, rare in the sources, are seen as often as standing."""
    per_frame = np.zeros(bank.num_frames)
    for (_, _, start, length), weight in zip(bank.sequences, bank.clip_weight):
        per_frame[start : start + length] = weight / length
    bins = np.minimum(torso_tilt(bank.positions) // bin_degrees, 180 // bin_degrees - 1).astype(int)
    density = np.bincount(bins, weights=per_frame, minlength=int(180 // bin_degrees))
    p = per_frame * np.where(density[bins] > 0, density[bins], 1.0) ** -power
    return p / p.sum()


def _body_frame(pos: np.ndarray, left: int, right: int, lower: int, upper: int) -> np.ndarray:
    """(..., J, 3) -> (..., 3, 3) rotation whose columns are the body's right-to-left, up and forward
    axes: x along right->left, y the lower->upper direction made orthogonal to x, z = x cross y."""
    x = pos[..., left, :] - pos[..., right, :]
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)
    up = pos[..., upper, :] - pos[..., lower, :]
    y = up - (up * x).sum(-1, keepdims=True) * x
    y = y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-9)
    return np.stack([x, y, np.cross(x, y)], -1)


def mix_limbs(world: np.ndarray, partner: np.ndarray, group: str) -> np.ndarray:
    """(B, T, J, 3) motion, (B, T, J, 3) partner motion -> ``world`` with the limbs of ``group`` (a key
    of :data:`LIMBS`) posed as the partner's: each bone keeps its own length and takes the partner's
    direction relative to the body frame the limb hangs from. The rest of the body is unchanged."""
    frame_joints, chains = LIMBS[group]
    idx = [H36M17.index(n) for n in frame_joints]
    to_own = _body_frame(world, *idx) @ np.swapaxes(
        _body_frame(partner, *idx), -1, -2
    )  # partner -> own frame
    out = world.copy()
    for chain in chains:
        joints = [H36M17.index(n) for n in chain]
        for parent, child in zip(joints, joints[1:]):
            own = np.linalg.norm(world[:, :, child] - world[:, :, parent], axis=-1, keepdims=True)
            bone = np.einsum("btij,btj->bti", to_own, partner[:, :, child] - partner[:, :, parent])
            bone *= own / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), 1e-9)
            out[:, :, child] = out[:, :, parent] + bone
    return out


class VirtualViewSampler:
    """Batches of (keypoints (B, T, J, C) normalised, poses (B, T, J, 3) metres, camera frame,
    root-relative) from a motion bank and virtual cameras; a pure function of (seed, epoch, batch)."""

    def __init__(
        self,
        bank: MotionBank,
        num_frames: int,
        *,
        codec: str = "person",
        channels: int = 2,
        cameras=None,
        flip: bool = True,
        fps_range: tuple[float, float] = (12.0, 60.0),
        speed_range: tuple[float, float] = (0.8, 1.25),
        bone_jitter: float = 0.0,
        limb_mix: float = 0.0,
        tilt_balance: float = 0.0,
    ) -> None:
        from posemoe.training.virtual_camera import VirtualCameraConfig

        self.bank, self.num_frames, self.codec, self.channels = bank, num_frames, codec, channels
        self.cameras = cameras or VirtualCameraConfig()
        self.flip, self.fps_range, self.speed_range = flip, fps_range, speed_range
        self.bone_jitter = (
            bone_jitter  # log-normal spread of each bone's length; 0 = the sources' own
        )
        self.limb_mix = (
            limb_mix  # chance that a clip's legs (and, apart, its arms) come from another clip
        )
        self.flip_perm = H36M17.flip_permutation()
        self.starts = np.array([s[2] for s in bank.sequences])
        self.lengths = np.array([s[3] for s in bank.sequences])
        # tilt_balance 0: clips as the sources have them (by sequence); > 0: by frame, rare torso tilts favoured
        self.frame_p = tilt_balanced_weights(bank, tilt_balance) if tilt_balance > 0 else None

    def epoch(
        self,
        seed: int,
        epoch: int,
        batch_size: int,
        *,
        max_clips: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> list[tuple[int, int]]:
        """The epoch's batches as (seed, batch number); ``max_clips`` (required) sets the epoch's size."""
        clips = max_clips or 4096
        per_rank = clips // world_size // batch_size
        return [(seed, epoch * 1_000_003 + rank * per_rank + k) for k in range(per_rank)]

    def gather(self, batch: tuple[int, int], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        from posemoe.training.virtual_camera import project, sample_cameras

        rng = np.random.default_rng(list(batch))
        world = self._clips(rng, batch_size)  # (B, T, J, 3) world, z up
        if (
            self.limb_mix > 0
        ):  # own stream, as for the bones: the same clips and camera draws as without
            mix_rng = np.random.default_rng([*batch, 2])
            for (
                group
            ) in LIMBS:  # a clip may draw itself (no change): the chance is limb_mix * (1 - 1/B)
                partner = world[mix_rng.permutation(batch_size)]
                take = mix_rng.random(batch_size) < self.limb_mix
                world[take] = mix_limbs(world[take], partner[take], group)
        if (
            self.bone_jitter > 0
        ):  # one factor per clip and bone, shared by a bone and its mirror image;
            bones_rng = np.random.default_rng(
                [*batch, 1]
            )  # own stream: the same clips and camera draws as without
            factors = np.exp(
                bones_rng.normal(0.0, self.bone_jitter, (batch_size, H36M17.num_joints))
            )
            world = scale_bones(
                world,
                factors[:, np.minimum(np.arange(H36M17.num_joints), self.flip_perm)],
                H36M17.parents,
            )
        cams = sample_cameras(self.cameras, rng, world)
        pixels, camera_3d = project(world, cams)
        video_fps = np.exp(rng.uniform(*np.log(self.fps_range), batch_size))
        pixels = _video_rate_2d(pixels, video_fps, self.bank.fps)
        keypoints = np.concatenate([pixels, np.ones_like(pixels[..., :1])], -1).astype(np.float32)
        poses = (camera_3d - camera_3d[:, :, :1]).astype(np.float32)
        flip = self.flip & (rng.random(batch_size) < 0.5)
        if flip.any():  # mirror in the image: centred codecs make x -> -x the mirror image
            poses[flip] = flip_horizontal(poses[flip], self.flip_perm)
        encoded = self._encode(keypoints, cams)
        if flip.any():
            encoded[flip] = self._mirror(encoded[flip])
        return match_channels(encoded, self.channels), poses

    def _clips(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        if self.frame_p is None:
            seq = rng.choice(len(self.lengths), size=batch_size, p=self.bank.clip_weight)
        else:  # a frame drawn by its tilt-balanced weight, the clip placed around it
            frame = rng.choice(self.bank.num_frames, size=batch_size, p=self.frame_p)
            seq = np.searchsorted(self.starts, frame, side="right") - 1
        speed = rng.uniform(*self.speed_range, batch_size)
        span = (self.num_frames - 1) * speed  # source frames a clip covers
        room = np.maximum(self.lengths[seq] - 1 - span, 0)
        if self.frame_p is None:
            first = rng.uniform(0, 1, batch_size) * room
        else:
            # the drawn frame anywhere in the clip; clipped at a sequence's ends, so frames within one
            # span of an end are covered up to 1.5x (near) or 0.5x (at the end) as often as the rest
            first = np.clip(
                frame - self.starts[seq] - span * rng.uniform(0, 1, batch_size), 0, room
            )
        pos = first[:, None] + np.arange(self.num_frames) * speed[:, None]
        pos = np.minimum(pos, (self.lengths[seq] - 1)[:, None])
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, (self.lengths[seq] - 1)[:, None])
        a = (pos - lo)[..., None, None]
        base = self.starts[seq][:, None]
        return (
            self.bank.positions[base + lo] * (1 - a) + self.bank.positions[base + hi] * a
        ).astype(np.float64)

    def _encode(self, keypoints: np.ndarray, cams) -> np.ndarray:
        if self.codec == "person":
            return make_codec("person", (1, 1)).encode_windows(keypoints)
        out = keypoints.copy()
        for i, (w, h) in enumerate(cams.image_size):
            out[i] = make_codec(self.codec, (int(w), int(h)), cams.intrinsics(i)).encode_windows(
                keypoints[i]
            )
        return out

    def _mirror(self, encoded: np.ndarray) -> np.ndarray:
        return flip_horizontal(encoded, self.flip_perm)
